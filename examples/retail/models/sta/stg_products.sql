select
    {{ select_list({'product_id': 'cast(product_id as integer)', 'product_name': 'trim(product_name)'},
                   extra={'category': 'lower(category)', 'list_price': cents_to_amount('list_price')}) }}
from {{ source('iceberg', 'products') }}
