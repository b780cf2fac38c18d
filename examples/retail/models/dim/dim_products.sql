{{ config(materialized='table') }}
select
    product_id,
    product_name,
    coalesce(category, 'uncategorised') as category,
    list_price
from {{ ref('stg_products') }}
