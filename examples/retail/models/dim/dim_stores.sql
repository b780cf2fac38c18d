select
    store_id,
    store_name,
    region,
    opened_on,
    date_trunc('month', opened_on) as opened_month
from {{ ref('dbt_stores_syvh') }}
