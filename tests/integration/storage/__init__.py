"""Storage integration tests (a package: ``test_storage_contract`` is also a unit test's name)."""
