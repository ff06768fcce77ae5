import re
from datetime import datetime, timezone

from openvsclosed.backends import API as API_BACKENDS
from openvsclosed.backends import LOCAL as LOCAL_BACKENDS
from openvsclosed.catalog import load_catalog, load_wire_profiles

REQUIRED_OPEN = {
    "llama-65b", "llama-2-70b-chat", "llama-3-8b-instruct", "llama-3-70b-instruct",
    "llama-3.1-8b-instruct", "llama-3.1-70b-instruct", "llama-3.1-405b-instruct", "alpaca-7b",
    "vicuna-13b", "koala-13b", "mistral-7b-instruct", "mixtral-8x7b-instruct", "gpt-oss-20b",
    "gpt-oss-120b", "smollm2-135m-instruct",
    # today's open models (issue 7)
    "llama-4-scout", "llama-4-maverick", "deepseek-v3", "deepseek-r1", "qwen2.5-72b-instruct",
    "qwen3-235b-a22b", "qwen3-32b", "kimi-k2-instruct", "glm-4.5", "mistral-large-2",
}
REQUIRED_CLOSED = {
    "gpt-4", "gpt-4-turbo", "gpt-4o", "gpt-3.5-turbo", "claude-2", "claude-3-opus",
    "claude-3.5-sonnet", "palm-2", "gemini-1.0-pro", "gemini-2.5-pro",
    # today's closed models (issue 7)
    "gpt-4.1", "o3", "o4-mini", "gpt-5", "gpt-5-mini", "claude-3.7-sonnet", "claude-sonnet-4",
    "claude-opus-4", "claude-opus-4.1", "claude-sonnet-4.5", "claude-haiku-4.5",
    "claude-opus-4.5", "gemini-2.0-flash", "gemini-2.5-flash", "gemini-3-pro",
    "mistral-medium-3",
}
SLUG = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")
ISO_DATE = re.compile(r"(?<!\d)(20\d\d)-(\d\d)-(\d\d)(?!\d)")  # gpt-4o-2024-08-06
COMPACT_DATE = re.compile(r"(?<!\d)(20\d\d)(\d\d)(\d\d)(?!\d)")  # claude-3-5-sonnet-20240620
OPENAI_MMDD = re.compile(r"-(\d\d)(\d\d)$")  # gpt-4-0613: OpenAI's old month-day suffix


def snapshot_date(entry) -> tuple[int | None, int, int] | None:
    """The date an API model's snapshot name embeds: (year or None, month, day), or None."""
    name = entry.api_model or ""
    for pattern in (ISO_DATE, COMPACT_DATE):
        match = pattern.search(name)
        if match:
            year, month, day = (int(g) for g in match.groups())
            return year, month, day
    if entry.backend == "openai":
        match = OPENAI_MMDD.search(name)
        if match:
            return None, int(match.group(1)), int(match.group(2))
    return None


def test_catalog_holds_every_model_the_articles_name():
    catalog = load_catalog()
    assert {k for k, e in catalog.items() if e.access == "open"} >= REQUIRED_OPEN
    assert {k for k, e in catalog.items() if e.access == "closed"} >= REQUIRED_CLOSED


def test_ids_are_unique_slugs():
    ids = [entry.id for entry in load_catalog().values()]
    from importlib import resources

    import yaml
    raw = yaml.safe_load(resources.files("openvsclosed").joinpath(
        "data/catalog.yaml").read_text("utf-8"))
    raw_ids = [item["id"] for item in raw]
    assert len(raw_ids) == len(set(raw_ids)), "duplicate ids in catalog.yaml"
    assert sorted(ids) == sorted(raw_ids)
    for entry_id in ids:
        assert SLUG.match(entry_id), entry_id


def test_every_entry_has_sources_and_a_reachable_backend():
    for entry in load_catalog().values():
        assert entry.sources, entry.id
        if entry.access == "open":
            assert entry.backend in LOCAL_BACKENDS and entry.model_args, entry.id
            assert entry.params_b, entry.id
        else:
            assert entry.backend in API_BACKENDS and entry.api_model and entry.api_key_env
            assert entry.params_b is None  # undisclosed by their makers
        if entry.backend == "openai-compatible":
            assert entry.base_url and entry.base_url.startswith("https://"), entry.id


def test_prices_are_dated_and_sourced():
    priced = [e for e in load_catalog().values() if e.price]
    assert len(priced) >= 8
    for entry in priced:
        assert entry.price.as_of and entry.price.source.startswith("https://"), entry.id
        assert entry.price.as_of <= datetime.now(timezone.utc).date(), entry.id
        assert entry.price.input_per_m >= 0 and entry.price.output_per_m >= 0, entry.id


def test_every_provider_is_reachable_and_sourced():
    providers = [(e.id, name, p) for e in load_catalog().values()
                 for name, p in e.providers.items()]
    assert len(providers) >= 10
    for entry_id, name, via in providers:
        where = f"{entry_id}/{name}"
        assert SLUG.match(name), where
        assert via.base_url.startswith("https://") and via.base_url.endswith(
            "/chat/completions"), where
        assert via.api_model and via.api_key_env, where
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", via.api_key_env), where
        assert via.sources and all(s.startswith("https://") for s in via.sources), where
        if via.price:
            assert via.price.as_of and via.price.source.startswith("https://"), where


def test_providers_keep_openness_and_serve_only_open_models():
    for entry in load_catalog().values():
        if entry.access == "closed":
            assert not entry.providers, entry.id  # closed models come from their maker's API
        for name in entry.providers:
            fields = entry.spec_fields(name)
            assert fields["access"] == entry.access and fields["provider"] == name


def test_every_wire_names_an_existing_profile():
    profiles = load_wire_profiles()
    for entry in load_catalog().values():
        if entry.wire is not None:
            assert entry.wire in profiles, (entry.id, entry.wire)
        for name, via in entry.providers.items():
            if via.wire is not None:
                assert via.wire in profiles, (entry.id, name, via.wire)


def test_wire_profiles_follow_the_providers_rules():
    profiles = load_wire_profiles()
    for name, profile in profiles.items():
        assert profile.sources, name
    reasoning = profiles["openai-reasoning"]
    assert reasoning.token_limit == "max_completion_tokens"
    assert reasoning.temperature is None and reasoning.stop is False
    assert reasoning.reasoning_effort in ("minimal", "low", "medium", "high")
    thinking = profiles["anthropic-thinking"]
    assert thinking.temperature is None
    assert thinking.thinking_budget >= 1024
    assert thinking.max_output_tokens > thinking.thinking_budget
    gemini = profiles["gemini-thinking"]
    assert gemini.thinking_budget and not gemini.reasoning_effort  # one of the two, not both
    gemini3 = profiles["gemini-3-thinking"]
    assert gemini3.reasoning_effort in ("low", "high") and gemini3.thinking_budget is None
    for profile in profiles.values():
        if profile.max_output_tokens and profile.thinking_budget:
            assert profile.max_output_tokens > profile.thinking_budget


def test_reasoning_apis_use_a_reasoning_wire():
    catalog = load_catalog()
    for model_id in ("o3", "o4-mini", "gpt-5", "gpt-5-mini"):
        assert catalog[model_id].wire == "openai-reasoning", model_id
    for model_id in ("gemini-2.5-pro", "gemini-2.5-flash"):
        assert catalog[model_id].wire == "gemini-thinking", model_id
    assert catalog["gemini-3-pro"].wire == "gemini-3-thinking"
    assert catalog["deepseek-r1"].wire == "open-reasoning"
    assert catalog["claude-3.7-sonnet"].wire is None
    assert catalog["claude-3.7-sonnet-thinking"].wire == "anthropic-thinking"


def test_api_entries_are_dated_by_their_snapshot():
    checked = 0
    for entry in load_catalog().values():
        if entry.backend not in API_BACKENDS:
            continue
        embedded = snapshot_date(entry)
        if embedded is None:
            continue
        year, month, day = embedded
        released = entry.released
        assert (released.month, released.day) == (month, day), entry.id
        if year is not None:
            assert released.year == year, entry.id
        checked += 1
        if entry.family_released is not None:
            assert entry.family_released < released, entry.id
    assert checked >= 18


def test_family_release_precedes_the_snapshot():
    for entry in load_catalog().values():
        if entry.family_released is not None:
            assert entry.family_released < entry.released, entry.id


def test_snapshot_date_parsing():
    class Fake:
        def __init__(self, backend, api_model):
            self.backend, self.api_model = backend, api_model
    assert snapshot_date(Fake("openai", "gpt-4o-2024-08-06")) == (2024, 8, 6)
    assert snapshot_date(Fake("anthropic", "claude-opus-4-1-20250805")) == (2025, 8, 5)
    assert snapshot_date(Fake("openai", "gpt-4-0613")) == (None, 6, 13)
    assert snapshot_date(Fake("openai-compatible", "mistral-medium-2505")) is None
    assert snapshot_date(Fake("gemini", "gemini-2.0-flash-001")) is None


def test_mixture_of_experts_active_parameters():
    catalog = load_catalog()
    assert catalog["mixtral-8x7b-instruct"].active_params_b < catalog[
        "mixtral-8x7b-instruct"].params_b
    assert catalog["gpt-oss-120b"].active_params_b == 5.1
    for entry in catalog.values():
        if entry.active_params_b is not None:
            assert entry.params_b and entry.active_params_b < entry.params_b, entry.id


SNAPSHOT_DATED = {
    # Dated by the API snapshot evaluated, which differs from the first public release the
    # source tables date them by (family_released holds it where it came earlier). Issue 17.
    "gpt-4", "gpt-3.5-turbo", "gpt-4o",
    # Anthropic snapshot ids carry a date before the public launch; not re-dated yet.
    "claude-3-opus", "claude-3.7-sonnet", "claude-sonnet-4", "claude-opus-4",
}


def _source_models():
    """(model id, fields, file) for every model column of every stored source table."""
    from importlib import resources

    import yaml
    folder = resources.files("openvsclosed").joinpath("data/sources")
    for item in folder.iterdir():
        if not item.name.endswith(".yaml") or item.name.startswith("_"):
            continue
        for model in yaml.safe_load(item.read_text("utf-8")).get("models") or []:
            yield model["id"], model, item.name


def test_catalog_agrees_with_the_source_tables():
    catalog = load_catalog()
    seen = 0
    for model_id, model, where in _source_models():
        entry = catalog.get(model_id)
        if entry is None:
            continue
        seen += 1
        what = f"{model_id} in {where}"
        assert entry.organization == model["organization"], what
        assert entry.access == model["access"], what
        assert entry.params_b == model["params_b"], what
        if model_id not in SNAPSHOT_DATED:
            assert entry.released == model["released"], what
    assert seen >= 50


def test_the_frontier_of_the_source_tables_is_catalogued():
    catalog = load_catalog()
    for model_id in ("gpt-5.2", "gpt-5.5", "claude-opus-4.6", "claude-opus-4.8",
                     "gemini-3.1-pro", "grok-4", "deepseek-v3.2", "deepseek-v4-pro",
                     "qwen3.5-397b-a17b", "kimi-k2.5", "kimi-k2.6", "glm-4.7", "glm-5",
                     "glm-5.1", "minimax-m2.5"):
        assert model_id in catalog, model_id
    assert catalog["claude-opus-4.7"].wire == "anthropic-adaptive"
    assert catalog["grok-4"].wire == "xai-reasoning"
    assert catalog["kimi-k2.5"].providers["moonshot"].wire == "open-reasoning-server-sampling"
    profiles = load_wire_profiles()
    assert profiles["anthropic-adaptive"].temperature is None
    assert profiles["anthropic-adaptive"].thinking_budget is None
    assert profiles["xai-reasoning"].stop is False and profiles["xai-reasoning"].reasoning_effort \
        is None
