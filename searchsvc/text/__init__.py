"""Text analysis of record: the NLTK tokenizer and stemmer both the index and queries use."""
