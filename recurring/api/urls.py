app_name = "recurring"
urlpatterns: list = []
