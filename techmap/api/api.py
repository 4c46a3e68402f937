from ninja import NinjaAPI

api = NinjaAPI(title="techmap API", version="1", urls_namespace="api")
