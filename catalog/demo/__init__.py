"""The demo catalogue: 600 products photographed for real, offline and deterministic.

The photographs are a curated subset of the CC0 clothing-small dataset (Alexey Grigorev's
clothing dataset, top-10 classes), copied into `photographs/` by tools/curate_demo_photos.py
with a manifest; the same files give the same SKUs, titles, prices and stock on every run, so
loading twice changes nothing. The pure part touches neither the database nor the network; the
loader writes through catalog.services like any other import.

    products    demo_products(): the catalogue as plain data; demo_photo(): a photo's bytes
    loader      load_demo_catalog(): both into the shop (`manage.py load_demo_catalog`)
"""
