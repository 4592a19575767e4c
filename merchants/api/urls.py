from django.urls import path

from .views import MerchantCollectionApi, MerchantDetailApi

app_name = "merchants"
urlpatterns = [
    path("merchants", MerchantCollectionApi.as_view(), name="collection"),
    path("merchants/<str:merchant_id>", MerchantDetailApi.as_view(), name="detail"),
]
