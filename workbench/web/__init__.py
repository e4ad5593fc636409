"""`workbench web`: the app in a browser, with textual-serve (the optional `web` extra).

Imported only by that command: the headless core and the app never load aiohttp.
"""
