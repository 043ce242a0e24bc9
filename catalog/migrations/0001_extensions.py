# PostgreSQL extensions the shop relies on: pgvector (image embeddings), pg_trgm
# (typo-tolerant text search), unaccent (accent-insensitive text search).
from django.contrib.postgres.operations import CreateExtension, TrigramExtension, UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        CreateExtension("vector"),
        TrigramExtension(),
        UnaccentExtension(),
    ]
