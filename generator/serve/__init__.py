"""Serve: ``perfsite serve``, the site in memory, rebuilt on save, reloaded in the browser.

state     the in-memory site brought up to date with the least work (same pipeline as build)
http_app  the HTTP side: files from memory, versions, live reload of every open page
server    the watcher, the rebuild loop, the error overlay, the background search refresh
"""
