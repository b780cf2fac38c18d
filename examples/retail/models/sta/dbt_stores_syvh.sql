{{
    config(
        materialized='table',
        external_location=target.s3_data_dir ~ 'sta/dbt_stores_syvh',
        table_properties={'format-version': '2', 'write.target-file-size-bytes': '134217728'}
    )
}}

-- Stores open on the run's business date (pdate, an int like 20261127).
select
    cast(store_id as integer) as store_id,
    trim(store_name) as store_name,
    upper(region) as region,
    cast(opened_on as date) as opened_on,
    {{ partition_date() }} as pdate
from {{ source('iceberg', 'stores') }}
where extract(year from cast(opened_on as date)) * 10000
    + extract(month from cast(opened_on as date)) * 100
    + extract(day from cast(opened_on as date)) <= {{ var('pdate') }}
