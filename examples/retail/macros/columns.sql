{#- Builds a select list from a mapping of output column → expression, the way real projects
    collect columns with list.append / dict.update and hand the result back with return(). -#}
{% macro select_list(renames, extra={}) -%}
    {%- set columns = {} -%}
    {%- do columns.update(renames) -%}
    {%- do columns.update(extra) -%}
    {%- set parts = [] -%}
    {%- for name, expression in columns.items() -%}
        {%- do parts.append(expression ~ ' as ' ~ name) -%}
    {%- endfor -%}
    {{ return(parts | join(',\n    ')) }}
{%- endmacro %}

{% macro partition_date() -%}
    {{ return(adapter.dispatch('partition_date')()) }}
{%- endmacro %}

{% macro default__partition_date() -%}
    cast('{{ var("pdate") }}' as varchar)
{%- endmacro %}
