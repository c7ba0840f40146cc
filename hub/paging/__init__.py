"""Shared pagers: how a stream reads a system's records page by page or document by document.

As in Singer SDK's and dlt's paginators, fetching one page (the adapter's business: its
path, headers, byte cap) is kept apart from advancing the cursor (the pager's). A stream's
``read`` returns a pager, which yields the :class:`hub.adapter.Batch` es:

- :mod:`hub.paging.keyset` — lists ordered by ``(modified, id)``, resumed after the last
  record committed (te_office, innokyla);
- :mod:`hub.paging.sequence` — a list of numbered records read page by page, each page
  saying whether more follow and where the next starts (Kela's counts and notices);
- :mod:`hub.paging.listing` — a listing of whole documents (exports, monthly lists), each
  read record by record and resumed at a position inside it (the case system's exports).
"""
