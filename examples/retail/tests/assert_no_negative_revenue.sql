-- Singular test: returns the order lines with a negative revenue (there must be none).
select order_line_id, revenue
from {{ ref('fct_order_lines') }}
where revenue < 0
