"""Words for what the charts label: chips, models, providers, forecasts, kinds of event, inputs.

The store names things by slug (``h100-sxm``, ``aws-bedrock``, ``p1-subscription-pricing``), which is
right for joining tables and wrong on an axis. The chart builders (``analysis.book.charts`` and
``analysis.book.charts_market``) put these words on axes, legends and panel titles instead:

* ``chip_label``: a chip's name from the store without its trailing bracket and, for the vendors
  whose product lines everyone knows, without the vendor and the product family
  (``NVIDIA H100 SXM5 80GB`` reads ``H100 SXM5 80GB``, ``AMD Instinct MI300X`` reads ``MI300X``,
  ``Google Cloud TPU v5e`` reads ``TPU v5e``);
  ``SHORT_CHIPS`` shortens the few names that stay too long for a phone's axis; ``chip_labels`` maps
  every slug and every name of a chip table to it;
* ``provider_name``: an API provider's name (the store keeps only the slug the price map uses);
* ``FORECAST_TOPICS``: a few words for each forecast an event can bear on;
* ``EVENT_GROUPS``: the kinds of event, folded into six groups so a chart needs six colours;
* ``MEMORY_KINDS``, ``SEGMENTS`` and ``COST_INPUTS``: the other codes a chart shows.

A slug the tables here do not know is written as words (``words``): hyphens and underscores become
spaces and the first letter a capital, so a new row is never shown as a blank.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

KNOWN_VENDORS = ("NVIDIA", "AMD", "Intel", "Google", "Microsoft")
FAMILIES = ("Instinct ", "GeForce ", "Cloud ", "Azure ")
SHORT_CHIPS = {
    "gh200-96gb": "GH200 96GB", "gh200-144gb": "GH200 144GB", "groq-3-lpu": "Groq 3 LPU",
    "rtx-pro-6000-blackwell": "RTX PRO 6000 Blackwell", "jetson-agx-thor": "Jetson AGX Thor",
}
PROVIDERS = {
    "anthropic": "Anthropic", "anyscale": "Anyscale", "aws-bedrock": "AWS Bedrock", "azure": "Microsoft Azure",
    "baseten": "Baseten", "cerebras": "Cerebras", "cloudflare": "Cloudflare", "crusoe": "Crusoe",
    "databricks": "Databricks", "deepinfra": "DeepInfra", "deepseek": "DeepSeek",
    "digitalocean-gradient": "DigitalOcean Gradient", "epoch-ai": "Epoch AI", "fireworks": "Fireworks AI",
    "friendliai": "FriendliAI", "gmi-cloud": "GMI Cloud", "google-ai-studio": "Google AI Studio",
    "google-vertex": "Google Vertex AI", "groq": "Groq", "hyperbolic": "Hyperbolic",
    "ibm-watsonx": "IBM watsonx", "lambda": "Lambda", "llamagate": "LlamaGate", "mistral": "Mistral AI",
    "nebius": "Nebius", "novita": "Novita AI", "nscale": "Nscale", "openai": "OpenAI",
    "openrouter": "OpenRouter", "oracle-oci": "Oracle Cloud", "ovhcloud": "OVHcloud",
    "perplexity": "Perplexity", "replicate": "Replicate", "sambanova": "SambaNova", "scaleway": "Scaleway",
    "snowflake": "Snowflake", "tensormesh": "TensorMesh", "together": "Together AI",
    "vercel-ai-gateway": "Vercel AI Gateway",
}
FORECAST_TOPICS = {
    "p1-subscription-pricing": "Subscriptions replace token prices",
    "p2-inference-native-10b": "Inference app worth USD 10 billion",
    "p3-nvidia-inference-chip": "NVIDIA inference processor",
    "p4-inference-optimized-open-models": "Open models built for inference",
    "cost-2026": "Token prices in 2026",
    "phones-30b": "30B models on phones",
    "consolidation": "Chip start-ups consolidate",
}
EVENT_GROUPS = {
    "pricing": "Pricing", "product": "Product or deployment", "deployment": "Product or deployment",
    "model-release": "Model release", "funding": "Funding or listing", "ipo": "Funding or listing",
    "acquisition": "Acquisition or deal", "deal": "Acquisition or deal",
    "research": "Research or statistic", "statistic": "Research or statistic",
}
MEMORY_KINDS = {"hbm": "HBM", "gddr": "GDDR", "sram": "on-chip SRAM", "unified": "unified memory"}
SEGMENTS = {"cloud": "cloud providers", "dedicated-chip": "dedicated-chip providers"}
COST_INPUTS = {
    "amortization_years": "Useful life (years)", "capex_usd": "Purchase price", "cost_of_capital": "Cost of capital",
    "electricity_usd_per_kwh": "Electricity price", "hosting_usd_per_hour": "Hosting (per hour)",
    "power_w": "Power draw", "pue": "PUE", "tokens_per_s": "Throughput", "utilization": "Utilization",
    "hourly_usd": "Rental price",
}
_BRACKET = re.compile(r"\s*\([^()]*\)\s*$")


def words(slug: object) -> str:
    """A slug as words: ``model-release`` reads ``Model release``."""
    text = re.sub(r"[-_]+", " ", str(slug)).strip()
    return text[:1].upper() + text[1:]


def named(slug: object, table: Mapping[str, str]) -> str:
    """``table``'s words for ``slug``, or the slug as words."""
    return table.get(str(slug), words(slug))


def provider_name(slug: object) -> str:
    """The name of an API provider."""
    return named(slug, PROVIDERS)


def chip_label(name: object, vendor: object = None) -> str:
    """A chip's name for an axis (module docstring)."""
    text = _BRACKET.sub("", str(name)).strip() or str(name)
    vendor = str(vendor) if isinstance(vendor, str) else next((v for v in KNOWN_VENDORS if text.startswith(v + " ")), "")
    if vendor in KNOWN_VENDORS and text.startswith(vendor + " "):
        text = text[len(vendor) + 1:]
        text = next((text[len(f):] for f in FAMILIES if text.startswith(f)), text)
    return text


def chip_labels(chips: pd.DataFrame) -> dict[str, str]:
    """Every chip slug, and every chip name, of a chip table to its label: ``SHORT_CHIPS``' or the
    name's ``chip_label`` (the slug as words when it has no name)."""
    names = chips["name"] if "name" in chips else chips["slug"].map(words)
    vendors = chips["vendor"] if "vendor" in chips else pd.Series([None] * len(chips), index=chips.index)
    by_slug = {str(s): SHORT_CHIPS.get(str(s), chip_label(n, v)) for s, n, v in zip(chips["slug"], names, vendors)}
    taken = pd.Series(list(by_slug.values())).value_counts()
    by_slug = {s: (f"{label} ({s})" if taken[label] > 1 else label) for s, label in by_slug.items()}
    by_name = {str(n): by_slug[str(s)] for s, n in zip(chips["slug"], names)}
    return {**by_name, **by_slug}


def model_names(models: pd.DataFrame) -> dict[str, str]:
    """Every model slug of a model table to its name."""
    names = models["name"] if "name" in models else models["slug"].map(words)
    return {str(s): str(n) for s, n in zip(models["slug"], names)}


def in_sentence(text: str) -> str:
    """``text`` to go inside a sentence: its first letter in lower case, unless it starts an
    abbreviation (``Purchase price`` reads ``purchase price``, ``PUE`` stays ``PUE``)."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text
