{{ config(unique_key='order_id', tags=['finance']) }}
select
    order_id,
    min(order_date) as order_date,
    min(store_id) as store_id,
    min(customer_id) as customer_id,
    count(*) as line_count,
    sum(revenue) as revenue
from {{ ref('fct_order_lines') }}
group by order_id
