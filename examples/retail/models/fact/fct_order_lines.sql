{{
    config(
        unique_key=['order_line_id'],
        partitioned_by=['month(order_date)'],
        table_properties={'format-version': '2'}
    )
}}
-- depends_on: {{ ref('dim_products') }}

select
    l.order_line_id,
    l.order_id,
    o.order_date,
    o.store_id,
    o.customer_id,
    l.product_id,
    l.quantity,
    l.revenue
from {{ ref('stg_order_lines') }} l
join {{ ref('stg_orders') }} o on o.order_id = l.order_id
{% if is_incremental() %}
where o.order_date > (select max(order_date) from {{ this }})
{% endif %}
