{% set statuses = ['placed', 'shipped', 'completed', 'returned'] %}
select
    cast(order_id as integer) as order_id,
    cast(customer_id as integer) as customer_id,
    cast(store_id as integer) as store_id,
    cast(order_date as date) as order_date,
    case
    {%- for status in statuses %}
        when lower(status) = '{{ status }}' then '{{ status }}'
    {%- endfor %}
        else 'unknown'
    end as status
from {{ source('iceberg', 'orders') }}
