"""The shopper's words, read the way PostgreSQL's websearch_to_tsquery reads them.

Both backends need the same reading: Postgres to correct single words in place before
handing the whole text to websearch_to_tsquery, Elasticsearch to build the same boolean
query. Syntax: words are all required; `"a b"` is a phrase; `-word` or `-"a b"` excludes;
`or` between two terms makes either enough. AND binds tighter than OR, as in Postgres:
`a b or c` means (a AND b) OR c.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
# A bare term ends at whitespace or at a quote, which opens a phrase.
_BARE = re.compile(r'[^\s"]+')


@dataclass(frozen=True)
class Word:
    text: str  # as typed
    start: int  # its span in the query text
    end: int
    negated: bool


@dataclass(frozen=True)
class Term:
    """One required (or, negated, excluded) piece: a bare token or a quoted phrase.

    A bare token may hold several words ("t-shirt"); all of them must match.
    """

    words: tuple[Word, ...]
    phrase: bool
    negated: bool

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    groups: tuple[tuple[Term, ...], ...]  # any group may match; every term of a group must

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(word for group in self.groups for term in group for word in term.words)

    def with_replacements(self, replacements: dict[int, str]) -> str:
        """The query text with the words at these positions of `words` replaced, syntax kept."""
        pieces, cursor = [], 0
        for index, word in enumerate(self.words):
            if index in replacements:
                pieces += [self.text[cursor : word.start], replacements[index]]
                cursor = word.end
        pieces.append(self.text[cursor:])
        return "".join(pieces)


def parse(text: str) -> ParsedQuery:
    groups: list[list[Term]] = [[]]
    position, length = 0, len(text)
    while position < length:
        if text[position].isspace():
            position += 1
            continue
        negated = text[position] == "-" and position + 1 < length and not text[position + 1].isspace()
        if negated:
            position += 1
        if text[position] == '"':
            close = text.find('"', position + 1)
            end = length if close < 0 else close
            start, position, phrase = position + 1, end + 1, True
        else:
            match = _BARE.match(text, position)
            start, end, phrase = position, match.end(), False
            position = end
            if not negated and text[start:end].lower() == "or" and groups[-1]:
                groups.append([])
                continue
        words = tuple(Word(m.group(), m.start(), m.end(), negated) for m in _WORD.finditer(text, start, end))
        if words:
            groups[-1].append(Term(words, phrase, negated))
    if not groups[-1]:  # a trailing "or" joins nothing
        groups.pop()
    return ParsedQuery(text, tuple(tuple(group) for group in groups))


# PostgreSQL's 'english' stop words (tsearch_data/english.stop, from Snowball): words no
# document holds. The Elasticsearch backend drops the same ones.
STOP_WORDS = frozenset(
    [
        "i",
        "me",
        "my",
        "myself",
        "we",
        "our",
        "ours",
        "ourselves",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "he",
        "him",
        "his",
        "himself",
        "she",
        "her",
        "hers",
        "herself",
        "it",
        "its",
        "itself",
        "they",
        "them",
        "their",
        "theirs",
        "themselves",
        "what",
        "which",
        "who",
        "whom",
        "this",
        "that",
        "these",
        "those",
        "am",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "have",
        "has",
        "had",
        "having",
        "do",
        "does",
        "did",
        "doing",
        "a",
        "an",
        "the",
        "and",
        "but",
        "if",
        "or",
        "because",
        "as",
        "until",
        "while",
        "of",
        "at",
        "by",
        "for",
        "with",
        "about",
        "against",
        "between",
        "into",
        "through",
        "during",
        "before",
        "after",
        "above",
        "below",
        "to",
        "from",
        "up",
        "down",
        "in",
        "out",
        "on",
        "off",
        "over",
        "under",
        "again",
        "further",
        "then",
        "once",
        "here",
        "there",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "no",
        "nor",
        "not",
        "only",
        "own",
        "same",
        "so",
        "than",
        "too",
        "very",
        "s",
        "t",
        "can",
        "will",
        "just",
        "don",
        "should",
        "now",
    ]
)
