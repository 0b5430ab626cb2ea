"""The editors' review web app (FastAPI + server-rendered Jinja2 pages).

`copydesk.review.app.create_app()` builds it; `copydesk.review.server.serve()` runs it.
Nothing is imported or created when this package is imported.
"""
