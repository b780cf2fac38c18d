select
    s.store_id,
    s.store_name,
    s.region,
    o.order_date,
    count(*) as orders,
    sum(o.revenue) as revenue,
    '{{ var("currency") }}' as currency
from {{ ref('fct_orders') }} o
join {{ ref('dim_stores') }} s on s.store_id = o.store_id
group by s.store_id, s.store_name, s.region, o.order_date
