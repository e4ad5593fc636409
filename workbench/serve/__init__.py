"""`workbench serve` / `workbench up`: the service entry points on Starlette and uvicorn.
Imported only by those commands (the headless request→run mapping is runtime/service.py)."""
