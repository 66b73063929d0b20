def _identity(view):
    return view


incidents = links = timeline = kinds = bases = deployments = actors = sources = _identity
ogc_landing = ogc_conformance = ogc_collections = ogc_collection = ogc_items = ogc_item = ogc_api = _identity
