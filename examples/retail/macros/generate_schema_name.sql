{#- Use a custom schema as written (`+schema: sta` → `sta`) instead of dbt's default
    `<target schema>_<custom>`: the warehouse has one Glue database per layer. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
