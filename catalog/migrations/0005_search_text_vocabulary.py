# The words shoppers' typos are corrected to (search.text.postgres): every word of the titles,
# brands, category paths and colours of indexed products, with a trigram index so the closest
# word to a misspelt one is found without reading them all. Words are only added (by
# search.text.index_products); a search offers a correction only when it still matches an
# active product, so words of deleted or changed products are never suggested. Plain SQL:
# no Django model reads or writes this table.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_search_attributes"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[
                "CREATE TABLE search_text_vocabulary (word text PRIMARY KEY)",
                "CREATE INDEX search_text_vocabulary_trgm ON search_text_vocabulary USING gin (word gin_trgm_ops)",
            ],
            reverse_sql=["DROP TABLE search_text_vocabulary"],
        ),
    ]
