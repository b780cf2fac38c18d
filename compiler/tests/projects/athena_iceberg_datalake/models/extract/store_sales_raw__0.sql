-- depends_on: {{ ref('store_sales_source') }}

{{ insert_into() }}