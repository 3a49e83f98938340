"""Russian: declension on pymorphy3 (`morph`), Cyrillic names for a world's ids
(`names`), agreement and relations as text (`grammar`), and the Jinja filters Russian
templates call (`filters`). docs/russian.md tells the whole story."""
