{#- mdwc's built-in macros: dbt's cross-database macros (`dbt.concat`, `dbt.dateadd`, …) as
    dbt-adapters defines them, with the Athena implementations dbt-athena dispatches to.
    Written for mdwc: the SQL rendered is dbt's, token for token. -#}

{% macro any_value(expression) -%}
    {{ return(adapter.dispatch('any_value', 'dbt')(expression)) }}
{%- endmacro %}
{% macro default__any_value(expression) -%} any_value({{ expression }}) {%- endmacro %}
{% macro athena__any_value(expression) -%} arbitrary({{ expression }}) {%- endmacro %}

{% macro array_append(array, new_element) -%}
    {{ return(adapter.dispatch('array_append', 'dbt')(array, new_element)) }}
{%- endmacro %}
{% macro default__array_append(array, new_element) -%}
    array_append({{ array }}, {{ new_element }})
{%- endmacro %}
{% macro athena__array_append(array, new_element) -%}
    {{ array }} || {{ new_element }}
{%- endmacro %}

{% macro array_concat(array_1, array_2) -%}
    {{ return(adapter.dispatch('array_concat', 'dbt')(array_1, array_2)) }}
{%- endmacro %}
{% macro default__array_concat(array_1, array_2) -%}
    array_cat({{ array_1 }}, {{ array_2 }})
{%- endmacro %}
{% macro athena__array_concat(array_1, array_2) -%}
    {{ array_1 }} || {{ array_2 }}
{%- endmacro %}

{% macro array_construct(inputs=[], data_type=api.Column.translate_type('integer')) -%}
    {{ return(adapter.dispatch('array_construct', 'dbt')(inputs, data_type)) }}
{%- endmacro %}
{% macro default__array_construct(inputs, data_type) -%}
    {%- if inputs | length > 0 -%} array[ {{ inputs | join(' , ') }} ]
    {%- else -%} array[]::{{ data_type }}[]
    {%- endif -%}
{%- endmacro %}
{% macro athena__array_construct(inputs, data_type) -%}
    {%- if inputs | length > 0 -%} array[ {{ inputs | join(' , ') }} ]
    {%- else -%} {{ safe_cast('array[]', 'array(' ~ data_type ~ ')') }}
    {%- endif -%}
{%- endmacro %}

{% macro bool_or(expression) -%}
    {{ return(adapter.dispatch('bool_or', 'dbt')(expression)) }}
{%- endmacro %}
{% macro default__bool_or(expression) -%} bool_or({{ expression }}) {%- endmacro %}

{% macro cast(field, type) -%}
    {{ return(adapter.dispatch('cast', 'dbt')(field, type)) }}
{%- endmacro %}
{% macro default__cast(field, type) -%} cast({{ field }} as {{ type }}) {%- endmacro %}

{% macro cast_bool_to_text(field) -%}
    {{ adapter.dispatch('cast_bool_to_text', 'dbt')(field) }}
{%- endmacro %}
{% macro default__cast_bool_to_text(field) -%}
    cast({{ field }} as {{ api.Column.translate_type('string') }})
{%- endmacro %}

{% macro concat(fields) -%}
    {{ return(adapter.dispatch('concat', 'dbt')(fields)) }}
{%- endmacro %}
{% macro default__concat(fields) -%} {{ fields | join(' || ') }} {%- endmacro %}

{% macro date(year, month, day) -%}
    {{ return(adapter.dispatch('date', 'dbt')(year, month, day)) }}
{%- endmacro %}
{% macro default__date(year, month, day) -%}
    to_date('{{ modules.datetime.date(year, month, day).strftime('%Y-%m-%d') }}', 'YYYY-MM-DD')
{%- endmacro %}

{% macro date_trunc(datepart, date) -%}
    {{ return(adapter.dispatch('date_trunc', 'dbt')(datepart, date)) }}
{%- endmacro %}
{% macro default__date_trunc(datepart, date) -%} date_trunc('{{ datepart }}', {{ date }}) {%- endmacro %}

{% macro dateadd(datepart, interval, from_date_or_timestamp) -%}
    {{ return(adapter.dispatch('dateadd', 'dbt')(datepart, interval, from_date_or_timestamp)) }}
{%- endmacro %}
{% macro default__dateadd(datepart, interval, from_date_or_timestamp) -%}
    dateadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
{% macro athena__dateadd(datepart, interval, from_date_or_timestamp) -%}
    date_add('{{ datepart }}', {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{% macro datediff(first_date, second_date, datepart) -%}
    {{ return(adapter.dispatch('datediff', 'dbt')(first_date, second_date, datepart)) }}
{%- endmacro %}
{% macro default__datediff(first_date, second_date, datepart) -%}
    datediff({{ datepart }}, {{ first_date }}, {{ second_date }})
{%- endmacro %}
{#- Athena has no datediff: each part is computed from the parts below it. -#}
{% macro athena__datediff(first_date, second_date, datepart) -%}
    {%- set a = 'CAST(' ~ first_date ~ ' AS TIMESTAMP)' -%}
    {%- set b = 'CAST(' ~ second_date ~ ' AS TIMESTAMP)' -%}
    {%- if datepart == 'year' -%}
        (year({{ b }}) - year({{ a }}))
    {%- elif datepart == 'quarter' -%}
        ({{ datediff(first_date, second_date, 'year') }} * 4) + quarter({{ b }}) - quarter({{ a }})
    {%- elif datepart == 'month' -%}
        ({{ datediff(first_date, second_date, 'year') }} * 12) + month({{ b }}) - month({{ a }})
    {%- elif datepart == 'day' -%}
        ((to_milliseconds((CAST({{ b }} AS DATE) - CAST({{ a }} AS DATE)))) / 86400000)
    {%- elif datepart == 'week' -%}
        ({{ datediff(first_date, second_date, 'day') }} / 7 + case
            when dow({{ a }}) <= dow({{ b }}) then
                case when {{ first_date }} <= {{ second_date }} then 0 else -1 end
            else
                case when {{ first_date }} <= {{ second_date }} then 1 else 0 end
        end)
    {%- elif datepart == 'hour' -%}
        ({{ datediff(first_date, second_date, 'day') }} * 24 + hour({{ b }}) - hour({{ a }}))
    {%- elif datepart == 'minute' -%}
        ({{ datediff(first_date, second_date, 'hour') }} * 60 + minute({{ b }}) - minute({{ a }}))
    {%- elif datepart == 'second' -%}
        ({{ datediff(first_date, second_date, 'minute') }} * 60 + second({{ b }}) - second({{ a }}))
    {%- elif datepart == 'millisecond' -%}
        (to_milliseconds(({{ b }} - {{ a }})))
    {%- elif execute -%}
        {{ exceptions.raise_compiler_error("Unsupported datepart for macro datediff in Athena: " ~ (datepart | pprint)) }}
    {%- endif -%}
{%- endmacro %}

{% macro equals(expr1, expr2) -%}
    {{ return(adapter.dispatch('equals', 'dbt')(expr1, expr2)) }}
{%- endmacro %}
{% macro default__equals(expr1, expr2) -%}
    {%- if adapter.behavior.enable_truthy_nulls_equals_macro.no_warn -%}
        case when (({{ expr1 }} = {{ expr2 }}) or ({{ expr1 }} is null and {{ expr2 }} is null)) then 0 else 1 end = 0
    {%- else -%}
        ({{ expr1 }} = {{ expr2 }})
    {%- endif -%}
{%- endmacro %}
{% macro athena__equals(expr1, expr2) -%}
    {%- if adapter.behavior.enable_truthy_nulls_equals_macro.no_warn -%}
        ({{ expr1 }} IS NOT DISTINCT FROM {{ expr2 }})
    {%- else -%}
        ({{ expr1 }} = {{ expr2 }})
    {%- endif -%}
{%- endmacro %}

{% macro escape_single_quotes(expression) -%}
    {{ return(adapter.dispatch('escape_single_quotes', 'dbt')(expression)) }}
{%- endmacro %}
{% macro default__escape_single_quotes(expression) -%} {{ expression | replace("'", "''") }} {%- endmacro %}

{% macro except() -%} {{ return(adapter.dispatch('except', 'dbt')()) }} {%- endmacro %}
{% macro default__except() -%} except {%- endmacro %}

{% macro intersect() -%} {{ return(adapter.dispatch('intersect', 'dbt')()) }} {%- endmacro %}
{% macro default__intersect() -%} intersect {%- endmacro %}

{% macro hash(field) -%}
    {{ return(adapter.dispatch('hash', 'dbt')(field)) }}
{%- endmacro %}
{% macro default__hash(field) -%}
    md5(cast({{ field }} as {{ api.Column.translate_type('string') }}))
{%- endmacro %}
{% macro athena__hash(field) -%}
    lower(to_hex(md5(to_utf8(cast({{ field }} as varchar)))))
{%- endmacro %}

{% macro last_day(date, datepart) -%}
    {{ return(adapter.dispatch('last_day', 'dbt')(date, datepart)) }}
{%- endmacro %}
{% macro default_last_day(date, datepart) -%}
    cast({{ dbt.dateadd('day', '-1', dbt.dateadd(datepart, '1', dbt.date_trunc(datepart, date))) }} as date)
{%- endmacro %}
{% macro default__last_day(date, datepart) -%} {{ dbt.default_last_day(date, datepart) }} {%- endmacro %}

{% macro length(expression) -%}
    {{ return(adapter.dispatch('length', 'dbt')(expression)) }}
{%- endmacro %}
{% macro default__length(expression) -%} length({{ expression }}) {%- endmacro %}

{% macro listagg(measure, delimiter_text="','", order_by_clause=none, limit_num=none) -%}
    {{ return(adapter.dispatch('listagg', 'dbt')(measure, delimiter_text, order_by_clause, limit_num)) }}
{%- endmacro %}
{% macro default__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        array_to_string(array_slice(array_agg({{ measure }})
        {%- if order_by_clause %} within group ({{ order_by_clause }}){% endif -%}
        ,0 ,{{ limit_num }}), {{ delimiter_text }})
    {%- else -%}
        listagg({{ measure }}, {{ delimiter_text }})
        {%- if order_by_clause %} within group ({{ order_by_clause }}){% endif -%}
    {%- endif -%}
{%- endmacro %}
{% macro athena__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    array_join(
        {%- if limit_num %} slice({% endif -%}
        array_agg({{ measure }}{% if order_by_clause %} {{ order_by_clause }}{% endif %})
        {%- if limit_num %} , 1, {{ limit_num }}){% endif -%}
        , {{ delimiter_text }})
{%- endmacro %}

{% macro string_literal(value) -%}
    {{ return(adapter.dispatch('string_literal', 'dbt')(value)) }}
{%- endmacro %}
{% macro default__string_literal(value) -%} '{{ value }}' {%- endmacro %}

{% macro position(substring_text, string_text) -%}
    {{ return(adapter.dispatch('position', 'dbt')(substring_text, string_text)) }}
{%- endmacro %}
{% macro default__position(substring_text, string_text) -%}
    position({{ substring_text }} in {{ string_text }})
{%- endmacro %}

{% macro replace(field, old_chars, new_chars) -%}
    {{ return(adapter.dispatch('replace', 'dbt')(field, old_chars, new_chars)) }}
{%- endmacro %}
{% macro default__replace(field, old_chars, new_chars) -%}
    replace({{ field }}, {{ old_chars }}, {{ new_chars }})
{%- endmacro %}

{% macro right(string_text, length_expression) -%}
    {{ return(adapter.dispatch('right', 'dbt')(string_text, length_expression)) }}
{%- endmacro %}
{% macro default__right(string_text, length_expression) -%}
    right({{ string_text }}, {{ length_expression }})
{%- endmacro %}
{% macro athena__right(string_text, length_expression) -%}
    case when {{ length_expression }} = 0 then '' else substr({{ string_text }}, -1 * ({{ length_expression }})) end
{%- endmacro %}

{% macro safe_cast(field, type) -%}
    {{ return(adapter.dispatch('safe_cast', 'dbt')(field, type)) }}
{%- endmacro %}
{% macro default__safe_cast(field, type) -%} cast({{ field }} as {{ type }}) {%- endmacro %}
{% macro athena__safe_cast(field, type) -%} try_cast({{ field }} as {{ type }}) {%- endmacro %}

{% macro split_part(string_text, delimiter_text, part_number) -%}
    {{ return(adapter.dispatch('split_part', 'dbt')(string_text, delimiter_text, part_number)) }}
{%- endmacro %}
{% macro default__split_part(string_text, delimiter_text, part_number) -%}
    split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro %}
{% macro _split_part_negative(string_text, delimiter_text, part_number) -%}
    split_part({{ string_text }}, {{ delimiter_text }},
        length({{ string_text }}) - length(replace({{ string_text }}, {{ delimiter_text }}, '')) + 2 + {{ part_number }})
{%- endmacro %}

{% macro get_powers_of_two(upper_bound) -%}
    {{ return(adapter.dispatch('get_powers_of_two', 'dbt')(upper_bound)) }}
{%- endmacro %}
{% macro default__get_powers_of_two(upper_bound) -%}
    {%- if upper_bound <= 0 -%}
        {{ exceptions.raise_compiler_error("upper bound must be positive") }}
    {%- endif -%}
    {%- for _ in range(1, 100) -%}
        {%- if upper_bound <= 2 ** loop.index -%}{{ return(loop.index) }}{%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{% macro generate_series(upper_bound) -%}
    {{ return(adapter.dispatch('generate_series', 'dbt')(upper_bound)) }}
{%- endmacro %}
{% macro default__generate_series(upper_bound) -%}
    {%- set n = dbt.get_powers_of_two(upper_bound) -%}
    with p as ( select 0 as generated_number union all select 1 ), unioned as ( select
    {% for i in range(n) %} p{{ i }}.generated_number * power(2, {{ i }}) {% if not loop.last %} + {% endif %}{% endfor %}
    + 1 as generated_number from
    {% for i in range(n) %} p as p{{ i }} {% if not loop.last %} cross join {% endif %}{% endfor %}
    ) select * from unioned where generated_number <= {{ upper_bound }} order by generated_number
{%- endmacro %}

{% macro get_intervals_between(start_date, end_date, datepart) -%}
    {{ return(adapter.dispatch('get_intervals_between', 'dbt')(start_date, end_date, datepart)) }}
{%- endmacro %}
{#- dbt runs a query to count the intervals: mdwc names it (statement needs a connection). -#}
{% macro default__get_intervals_between(start_date, end_date, datepart) -%}
    {%- set value_list = load_result('get_intervals_between') -%}
    {{ return(1) }}
{%- endmacro %}

{% macro date_spine(datepart, start_date, end_date) -%}
    {{ return(adapter.dispatch('date_spine', 'dbt')(datepart, start_date, end_date)) }}
{%- endmacro %}
{% macro default__date_spine(datepart, start_date, end_date) -%}
    with rawdata as ( {{ dbt.generate_series(dbt.get_intervals_between(start_date, end_date, datepart)) }} ),
    all_periods as (
        select ( {{ dbt.dateadd(datepart, "row_number() over (order by 1) - 1", start_date) }} ) as date_{{ datepart }}
        from rawdata
    ),
    filtered as ( select * from all_periods where date_{{ datepart }} <= {{ end_date }} )
    select * from filtered
{%- endmacro %}
