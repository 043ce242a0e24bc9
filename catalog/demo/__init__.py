"""The demo catalogue: a few hundred believable products with drawn photos, built offline.

Everything here is deterministic: the same seed gives the same SKUs, titles, prices,
attributes and byte-identical JPEG files on every run, so loading twice changes
nothing and tests can compare bytes. The pure parts touch neither the database nor the
network; the loader writes through catalog.services like any other import.

    products    what the shop sells and demo_products(): the catalogue as plain data
    photos      render_demo_image(): a product's drawn JPEG photos
    loader      load_demo_catalog(): both into the shop (`manage.py load_demo_catalog`)
"""
