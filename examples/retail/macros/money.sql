{% macro cents_to_amount(column, scale=2) -%}
    cast({{ column }} as decimal(18, {{ scale }}))
{%- endmacro %}

{% macro line_revenue(quantity, unit_price, discount='0') -%}
    {{ cents_to_amount(quantity ~ ' * ' ~ unit_price ~ ' * (1 - ' ~ discount ~ ')') }}
{%- endmacro %}
