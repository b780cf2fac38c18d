{#- mdwc's built-in macros: dbt's type macros (`dbt.type_string()`, …) as dbt-adapters defines
    them, with the Athena type names dbt-athena uses. Written for mdwc. -#}

{% macro type_string() -%} {{ return(adapter.dispatch('type_string', 'dbt')()) }} {%- endmacro %}
{% macro default__type_string() -%} {{ return(api.Column.translate_type('string')) }} {%- endmacro %}
{% macro athena__type_string() -%} VARCHAR {%- endmacro %}

{% macro type_timestamp() -%} {{ return(adapter.dispatch('type_timestamp', 'dbt')()) }} {%- endmacro %}
{% macro default__type_timestamp() -%} {{ return(api.Column.translate_type('timestamp')) }} {%- endmacro %}

{% macro type_float() -%} {{ return(adapter.dispatch('type_float', 'dbt')()) }} {%- endmacro %}
{% macro default__type_float() -%} {{ return(api.Column.translate_type('float')) }} {%- endmacro %}
{% macro athena__type_float() -%} DOUBLE {%- endmacro %}

{% macro type_numeric() -%} {{ return(adapter.dispatch('type_numeric', 'dbt')()) }} {%- endmacro %}
{% macro default__type_numeric() -%} {{ return(api.Column.numeric_type('numeric', 28, 6)) }} {%- endmacro %}
{% macro athena__type_numeric() -%} DECIMAL(38,6) {%- endmacro %}

{% macro type_bigint() -%} {{ return(adapter.dispatch('type_bigint', 'dbt')()) }} {%- endmacro %}
{% macro default__type_bigint() -%} {{ return(api.Column.translate_type('bigint')) }} {%- endmacro %}

{% macro type_int() -%} {{ return(adapter.dispatch('type_int', 'dbt')()) }} {%- endmacro %}
{% macro default__type_int() -%} {{ return(api.Column.translate_type('integer')) }} {%- endmacro %}
{% macro athena__type_int() -%} INTEGER {%- endmacro %}

{% macro type_boolean() -%} {{ return(adapter.dispatch('type_boolean', 'dbt')()) }} {%- endmacro %}
{% macro default__type_boolean() -%} {{ return(api.Column.translate_type('boolean')) }} {%- endmacro %}
