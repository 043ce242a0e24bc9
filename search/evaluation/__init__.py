"""Search quality and speed on a labelled ImageFolder: the metrics, and the run behind
`manage.py evaluate_search` and bench/search.py.

Modules, each importing only those above it:

    progress    say: the progress messages on stderr
    metrics     P@k, AP@k, recall@k, latency percentiles, summarise / rounded
    dataset     read_dataset: which pictures are catalogue and which are queries
    photo       the photo run in the connected database (catalogue_load, queries_run)
    held_out    held_out_report (--held-out) and the groups of classes it leaves out
    hybrid      hybrid_report (--hybrid): photo + a colour word
    report      evaluate: all of the above in the connected database, one result dict
    isolation   evaluate_in_throwaway_database: evaluate in a child process on a
                throw-away database (visualshop.throwaway); child_main is that child

The catalogue images are imported as products (category = class folder, one product per
image) and processed by the real pipeline; every query picture then goes through
`search_products` as a shopper's upload would. A catalogue product is relevant to a query
when both came from the same class folder. Metrics over the first K = 10 results:

    P@1, P@10    share of relevant results at rank 1 / among the first 10 (a list shorter
                 than 10 counts its missing places as misses)
    mAP@10       mean over queries of AP@10 = 1/min(10, R) * sum_{k<=10} P@k * rel(k),
                 R = searchable catalogue products of the query's class
    recall@10    share of the exact-search top 10 (candidates from a full scan instead of
                 the HNSW index, ranked the same way) that the served top 10 also holds
    p50/p95/p99  milliseconds per search_products call in this process: decoding,
                 embedding, the database and re-ranking ("server side": no HTTP)

Held out (`held_out.held_out_report`, `--held-out`): what each part of the re-ranking does,
and that what the projection learns from categories does not hurt categories it never saw. After the
main run the queries are searched again (untimed, no exact pass) under four configurations:
raw features (no projection, no category vote), the vote alone, the projection alone, and
projection + vote; over all queries with the catalogue's full fit (`methods`), and for each
group of classes with a projection fitted without that group's categories, over the group's
queries (`held_out`, the full fit's numbers for the same queries beside them). The shop's
projection is active again afterwards.

Hybrid (`--hybrid`, search.evaluation.hybrid): then every query picture with a colour word,
the fusion methods of photo + words compared (result key "hybrid").

Before any query, every catalogue product's search data (colours, predicted category, text
document, similar products) is refreshed in rounds until none is search-dirty
(`photo.products_refresh_until_clean`; result key "search_refresh"); a product left dirty is a
problem.

`report.evaluate` fills whatever database Django is connected to.
`isolation.evaluate_in_throwaway_database` is what the command calls: it creates a database
of its own on the same server and runs `evaluate` in a child process connected to it (with its own media folder and an in-memory
Celery broker), so the shop's database, media, queue and metrics are never touched.
"""
