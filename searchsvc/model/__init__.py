"""The model: plain records (articles, search requests and results) every layer shares."""
