"""Help beyond the ranked list that does not depend on the engine: snippets and spelling."""
