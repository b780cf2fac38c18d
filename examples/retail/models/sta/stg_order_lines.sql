select
    cast(order_line_id as integer) as order_line_id,
    cast(order_id as integer) as order_id,
    cast(product_id as integer) as product_id,
    cast(quantity as integer) as quantity,
    {{ cents_to_amount('unit_price') }} as unit_price,
    {{ line_revenue('quantity', 'unit_price', discount='coalesce(discount, 0)') }} as revenue
from {{ source('iceberg', 'order_lines') }}
