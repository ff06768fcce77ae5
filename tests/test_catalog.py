from openvsclosed.catalog import API_BACKENDS, LOCAL_BACKENDS, load_catalog

REQUIRED_OPEN = {
    "llama-65b", "llama-2-70b-chat", "llama-3-8b-instruct", "llama-3-70b-instruct",
    "llama-3.1-8b-instruct", "llama-3.1-70b-instruct", "llama-3.1-405b-instruct", "alpaca-7b",
    "vicuna-13b", "koala-13b", "mistral-7b-instruct", "mixtral-8x7b-instruct", "gpt-oss-20b",
    "gpt-oss-120b", "smollm2-135m-instruct",
}
REQUIRED_CLOSED = {
    "gpt-4", "gpt-4-turbo", "gpt-4o", "gpt-3.5-turbo", "claude-2", "claude-3-opus",
    "claude-3.5-sonnet", "palm-2", "gemini-1.0-pro", "gemini-2.5-pro",
}


def test_catalog_holds_every_model_the_articles_name():
    catalog = load_catalog()
    assert {k for k, e in catalog.items() if e.access == "open"} >= REQUIRED_OPEN
    assert {k for k, e in catalog.items() if e.access == "closed"} >= REQUIRED_CLOSED


def test_every_entry_has_sources_and_a_reachable_backend():
    for entry in load_catalog().values():
        assert entry.sources, entry.id
        if entry.access == "open":
            assert entry.backend in LOCAL_BACKENDS and entry.model_args, entry.id
            assert entry.params_b, entry.id
        else:
            assert entry.backend in API_BACKENDS and entry.api_model and entry.api_key_env
            assert entry.params_b is None  # undisclosed by their makers


def test_prices_are_dated_and_sourced():
    priced = [e for e in load_catalog().values() if e.price]
    assert len(priced) >= 8
    for entry in priced:
        assert entry.price.as_of and entry.price.source.startswith("https://")


def test_mixture_of_experts_active_parameters():
    catalog = load_catalog()
    assert catalog["mixtral-8x7b-instruct"].active_params_b < catalog[
        "mixtral-8x7b-instruct"].params_b
    assert catalog["gpt-oss-120b"].active_params_b == 5.1
