"""The recognition service (the paper's Section 3.1), one module per idea.

Test servers live in tests/: local_prediction_server.py (TF Serving's stand-in, a
PredictionService over the pushed SavedModels) and background_server.py (uvicorn in a
thread, for tests and bench/service_latency.py).

    product_index.py            SKU -> title, tags, images; built from a catalogue
    index_database.py           the one database layer under it: SQLite or PostgreSQL
    upload_checks.py            what a query upload must be before the model sees it
    recognition_backend.py      the model: SavedModel in-process, or TF Serving over gRPC
    request_batcher.py          server-side batching of concurrent requests
    app.py                      the FastAPI service (`sicot serve`)
    recognition_page.py         the page it serves at /
    service_metrics.py          its Prometheus metrics
    rest_client.py              a Python client of its REST API
    grpc_client.py              a Python client of TF Serving's PredictionService
    tf_serving_config.py        TF Serving's models.config for the pushed models
"""
