"""The rules that judge: ``verdicts`` on the article's claims, ``forecasts`` and their resolution rules
(``forecast_rules``)."""
