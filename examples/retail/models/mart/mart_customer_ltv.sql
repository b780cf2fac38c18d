{{ config(materialized='table') }}
with customer_revenue as (
    select
        c.customer_id,
        c.customer_name,
        sum(o.revenue) as lifetime_revenue,
        count(o.order_id) as orders
    from {{ ref('dim_customers') }} c
    left join {{ ref('fct_orders') }} o on o.customer_id = c.customer_id
    group by c.customer_id, c.customer_name
)
select
    customer_id,
    customer_name,
    coalesce(lifetime_revenue, 0) as lifetime_revenue,
    orders,
    rank() over (order by coalesce(lifetime_revenue, 0) desc) as revenue_rank
from customer_revenue
