"""ShopCtrl Desktop: outgoing webhooks for a ShopCtrl back office."""

__version__ = "0.1.0"
