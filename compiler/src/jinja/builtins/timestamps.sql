{#- mdwc's built-in macros: dbt's timestamp macros, with dbt-athena's implementations (an
    Iceberg table's timestamps have microseconds). Written for mdwc. -#}

{% macro current_timestamp() -%} {{ adapter.dispatch('current_timestamp', 'dbt')() }} {%- endmacro %}
{% macro default__current_timestamp() -%}
    {{ exceptions.raise_compiler_error('current_timestamp macro not implemented for adapter ' ~ adapter.type()) }}
{%- endmacro %}
{% macro athena__current_timestamp() -%} {{ cast_timestamp('now()') }} {%- endmacro %}

{% macro cast_timestamp(timestamp_col) -%}
    {%- set config = model.get('config', {}) -%}
    {%- set table_type = config.get('table_type', 'hive') -%}
    {%- set is_view = config.get('materialized', 'table') in ['view', 'ephemeral'] -%}
    {%- if table_type == 'iceberg' and not is_view -%}
        cast({{ timestamp_col }} as timestamp(6))
    {%- else -%}
        cast({{ timestamp_col }} as timestamp)
    {%- endif -%}
{%- endmacro %}

{% macro snapshot_get_time() -%} {{ adapter.dispatch('snapshot_get_time', 'dbt')() }} {%- endmacro %}
{% macro default__snapshot_get_time() -%} {{ current_timestamp() }} {%- endmacro %}

{% macro current_timestamp_backcompat() -%}
    {{ return(adapter.dispatch('current_timestamp_backcompat', 'dbt')()) }}
{%- endmacro %}
{% macro default__current_timestamp_backcompat() -%} current_timestamp::timestamp {%- endmacro %}

{% macro current_timestamp_in_utc_backcompat() -%}
    {{ return(adapter.dispatch('current_timestamp_in_utc_backcompat', 'dbt')()) }}
{%- endmacro %}
{% macro default__current_timestamp_in_utc_backcompat() -%}
    {{ return(adapter.dispatch('current_timestamp_backcompat', 'dbt')()) }}
{%- endmacro %}

{% macro end_of_time() -%} {{ return(adapter.dispatch('end_of_time')()) }} {%- endmacro %}
{% macro athena__end_of_time() -%} cast('9999-01-01' AS timestamp) {%- endmacro %}
