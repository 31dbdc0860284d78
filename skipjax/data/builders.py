"""skipjax's own tfds builders: prepare each dataset from the raw files in the data dir.

Used offline, and for the datasets tfds does not have (Rotten Tomatoes, SST trees, PTB) or has
only in another form. Each builder reads the raw files from the download manager's `manual_dir`
(the data dir: `<data_dir>/<dataset>/...`, see files.py), checks every file against the digests
published in its SOURCE.md before reading it, and writes the examples in file order
(`disable_shuffling`). Importing this module imports tensorflow_datasets (about 5 s).

Text features are stored as read (no tokenisation); `skipjax.data.datasets` tokenises.
"""

from __future__ import annotations

import csv
import io
import lzma
import pathlib
import re
import tarfile
from typing import Iterator

import numpy as np

from skipjax.data import files
from skipjax.data import tfds_import

tfds = tfds_import.import_tfds()  # quietly (see there)

_MANUAL = ("Place the raw files as in this project's shared/data (see each SOURCE.md) under a "
           "directory and pass it as data_dir= (or set $SKIPJAX_DATA_DIR): {}.")


def _dataset_info(builder, homepage: str, **features) -> "tfds.core.DatasetInfo":
  """The DatasetInfo of a skipjax builder: `features`, the examples in file order
  (`disable_shuffling`), and supervised keys ('text', 'label') where both are features."""
  supervised = ("text", "label") if {"text", "label"} <= set(features) else None
  return tfds.core.DatasetInfo(builder=builder, features=tfds.features.FeaturesDict(features),
                               supervised_keys=supervised, disable_shuffling=True,
                               homepage=homepage)


def _text_label(names: list[str]) -> dict:
  """The features of a text classification set: 'text' and a class 'label' of `names`."""
  return {"text": tfds.features.Text(), "label": tfds.features.ClassLabel(names=names)}


def _manual_file(dl_manager, dataset: str, role: str) -> pathlib.Path:
  """The verified raw file `role` of `dataset` under the download manager's manual_dir."""
  return files.find_file(dataset, role, dl_manager.manual_dir)


def _xz_text(path: pathlib.Path, encoding: str = "utf-8") -> str:
  with lzma.open(path, "rb") as f:
    return f.read().decode(encoding)


def _read_text(path: pathlib.Path, encoding: str = "utf-8") -> str:
  if path.suffix == ".xz":
    return _xz_text(path, encoding)
  return path.read_text(encoding=encoding)


# ----- IMDB -----

# The labelled directories' content digests (the scheme of files.IMDB_DIR_DIGESTS).
IMDB_DIR_DIGESTS = {d: v for d, v in files.IMDB_DIR_DIGESTS.items() if not d.endswith("unsup")}
_IMDB_MEMBER = re.compile(r"aclImdb/(train|test)/(pos|neg)/((\d+)_(\d+)\.txt)")


def read_imdb_archive(archive: pathlib.Path) -> dict[str, list[tuple[str, str, int, int]]]:
  """{'train'|'test': [(file name, text, label, rating)]} sorted by directory (neg, pos) and file
  name, after checking each directory's content digest (independent of the archive's bytes)."""
  found: dict[str, list[tuple[str, bytes]]] = {d: [] for d in IMDB_DIR_DIGESTS}
  with tarfile.open(archive, "r:*") as tar:
    for member in tar:
      match = _IMDB_MEMBER.fullmatch(member.name)
      if match and member.isfile():
        found[f"{match.group(1)}/{match.group(2)}"].append(
            (match.group(3), tar.extractfile(member).read()))
  out: dict[str, list[tuple[str, str, int, int]]] = {"train": [], "test": []}
  for directory, expected in IMDB_DIR_DIGESTS.items():
    files.check_content_digest(archive, directory, found[directory], expected)
  for split in ("train", "test"):
    for polarity, label in (("neg", 0), ("pos", 1)):
      for name, data in sorted(found[f"{split}/{polarity}"],
                               key=lambda e: int(e[0].split("_")[0])):
        rating = int(name[:-4].split("_")[1])
        out[split].append((f"{polarity}/{name}", data.decode("utf-8"), label, rating))
  return out


class SkipjaxImdb(tfds.core.GeneratorBasedBuilder):
  """IMDB Large Movie Review v1.0 (Maas et al. 2011), labelled train/test (25k each)."""

  VERSION = tfds.core.Version("1.0.0")
  MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL.format(
      "imdb/aclImdb_v1_rebuilt.tar.xz or the original imdb/aclImdb_v1.tar.gz")

  def _info(self) -> tfds.core.DatasetInfo:
    return _dataset_info(self, "https://ai.stanford.edu/~amaas/data/sentiment/",
                         **_text_label(["neg", "pos"]), rating=np.int32)

  def _split_generators(self, dl_manager):
    archive = files.find_file("imdb", "archive", dl_manager.manual_dir)
    reviews = read_imdb_archive(archive)
    return {split: self._generate_examples(rows) for split, rows in reviews.items()}

  def _generate_examples(self, rows):
    # Integer keys: with disable_shuffling tfds writes the examples in key order.
    for key, (_, text, label, rating) in enumerate(rows):
      yield key, {"text": text, "label": label, "rating": rating}


# ----- Rotten Tomatoes -----

RT_SPLIT_SEED = 0


def rotten_tomatoes_split(num_examples: int, seed: int = RT_SPLIT_SEED) -> dict[str, np.ndarray]:
  """Fixed split of an unsplit corpus: 10% test, then 10% of the rest validation, the rest train.

  A permutation from numpy's legacy RandomState(seed) (whose stream numpy keeps fixed across
  versions); each split keeps the corpus order. Returns {'train'|'validation'|'test': indices}.
  """
  perm = np.random.RandomState(seed).permutation(num_examples)
  n_test = int(round(0.1 * num_examples))
  n_dev = int(round(0.1 * (num_examples - n_test)))
  return {"test": np.sort(perm[:n_test]), "validation": np.sort(perm[n_test:n_test + n_dev]),
          "train": np.sort(perm[n_test + n_dev:])}


class SkipjaxRottenTomatoes(tfds.core.GeneratorBasedBuilder):
  """Rotten Tomatoes sentence polarity v1.0 (Pang & Lee 2005), with a fixed seeded split."""

  VERSION = tfds.core.Version("1.0.0")
  MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL.format("rotten_tomatoes/rt-polarity.{pos,neg}.xz")

  def _info(self) -> tfds.core.DatasetInfo:
    return _dataset_info(self, "https://www.cs.cornell.edu/people/pabo/movie-review-data/",
                         **_text_label(["neg", "pos"]), id=np.int32)

  def _split_generators(self, dl_manager):
    snippets = []
    for polarity, label in (("neg", 0), ("pos", 1)):
      path = files.find_file("rotten_tomatoes", polarity, dl_manager.manual_dir)
      # cp1252, split on "\n" only (splitlines would also split on U+0085); see SOURCE.md.
      lines = _xz_text(path, "cp1252").split("\n")[:-1]
      snippets += [(text.strip(), label) for text in lines]
    splits = rotten_tomatoes_split(len(snippets))
    return {name: self._generate_examples(snippets, idx) for name, idx in splits.items()}

  def _generate_examples(self, snippets, indices):
    for i in indices:
      text, label = snippets[i]
      yield int(i), {"text": text, "label": label, "id": int(i)}


# ----- SST -----

class SkipjaxSstGlue(tfds.core.GeneratorBasedBuilder):
  """GLUE SST-2 (Wang et al. 2019): train 67,349 phrases, validation 872, test 1,821 (label -1)."""

  VERSION = tfds.core.Version("1.0.0")
  MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL.format("sst/glue_sst2/{train,dev,test}.tsv.xz")

  def _info(self) -> tfds.core.DatasetInfo:
    return _dataset_info(self, "https://gluebenchmark.com/",
                         **_text_label(["negative", "positive"]))

  def _split_generators(self, dl_manager):
    return {split: self._generate_examples(_manual_file(dl_manager, "sst_glue", split),
                                           labelled=split != "test")
            for split in ("train", "validation", "test")}

  def _generate_examples(self, path, labelled):
    lines = _xz_text(path).split("\n")
    header = lines[0].split("\t")
    want = ["sentence", "label"] if labelled else ["index", "sentence"]
    if header != want:
      raise files.DataFileError(f"{path}: unexpected header {header}, expected {want}")
    for i, line in enumerate(lines[1:]):
      if not line:
        continue
      a, b = line.split("\t")
      text, label = (a, int(b)) if labelled else (b, -1)
      yield i, {"text": text.strip(), "label": label}


_SST_LEAF = re.compile(r"\(\d ([^()]+)\)")
_PTB_BRACKETS = {"-LRB-": "(", "-RRB-": ")"}


def parse_sst_tree(line: str) -> tuple[str, int]:
  """(sentence, root label 0..4) from one PTB-bracketed SST tree; -LRB-/-RRB- become ( )."""
  label = int(line[1])
  words = [_PTB_BRACKETS.get(w, w) for w in _SST_LEAF.findall(line)]
  return " ".join(words), label


class SkipjaxSstTrees(tfds.core.GeneratorBasedBuilder):
  """Stanford Sentiment Treebank sentences (Socher et al. 2013) with their 5-class root label."""

  VERSION = tfds.core.Version("1.0.0")
  MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL.format("sst/trees/{train,dev,test}.txt.xz")

  def _info(self) -> tfds.core.DatasetInfo:
    return _dataset_info(self, "https://nlp.stanford.edu/sentiment/", **_text_label(
        ["very negative", "negative", "neutral", "positive", "very positive"]))

  def _split_generators(self, dl_manager):
    return {split: self._generate_examples(_manual_file(dl_manager, "sst_trees", split))
            for split in ("train", "validation", "test")}

  def _generate_examples(self, path):
    for i, line in enumerate(_xz_text(path).split("\n")):
      if line.strip():
        text, label = parse_sst_tree(line)
        yield i, {"text": text, "label": label}


# ----- AG News -----

AG_NEWS_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]


def clean_ag_news(text: str) -> str:
  """Undo the release's escapes: a bare backslash marks a line break; ' #36;' is ' $'."""
  return re.sub(r"\s+", " ", text.replace(" #36;", " $").replace("\\", " ")).strip()


class SkipjaxAgNews(tfds.core.GeneratorBasedBuilder):
  """AG News (Zhang et al. 2015). Config 'test_only' (what shared/data has) or 'full'."""

  VERSION = tfds.core.Version("1.0.1")
  RELEASE_NOTES = {"1.0.1": "' #36;' becomes ' $' (keeps the space)."}
  BUILDER_CONFIGS = [tfds.core.BuilderConfig(name="test_only", description="test.csv only"),
                     tfds.core.BuilderConfig(name="full", description="train.csv and test.csv")]
  MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL.format(
      "ag_news/test.csv.xz, and for the train split the original ag_news/train.csv")

  def _info(self) -> tfds.core.DatasetInfo:
    text = tfds.features.Text
    return _dataset_info(self, "http://groups.di.unipi.it/~gulli/AG_corpus_of_news_articles.html",
                         text=text(), title=text(), description=text(),
                         label=tfds.features.ClassLabel(names=AG_NEWS_CLASSES))

  def _split_generators(self, dl_manager):
    splits = ["test"] if self.builder_config.name == "test_only" else ["train", "test"]
    return {split: self._generate_examples(files.find_file("ag_news", split, dl_manager.manual_dir))
            for split in splits}

  def _generate_examples(self, path):
    for i, row in enumerate(csv.reader(io.StringIO(_read_text(path)))):
      label, title, description = row
      yield i, {"text": clean_ag_news(f"{title} {description}"), "title": title,
                "description": description, "label": int(label) - 1}


# ----- PTB -----

class SkipjaxPtb(tfds.core.GeneratorBasedBuilder):
  """Penn Treebank, Mikolov's word-level LM text: one example per line, in order."""

  VERSION = tfds.core.Version("1.0.0")
  MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL.format("ptb/ptb.{train,valid,test}.txt.xz")

  def _info(self) -> tfds.core.DatasetInfo:
    return _dataset_info(self, "https://www.fit.vutbr.cz/~imikolov/rnnlm/",
                         text=tfds.features.Text())

  def _split_generators(self, dl_manager):
    return {split: self._generate_examples(files.find_file("ptb", split, dl_manager.manual_dir))
            for split in ("train", "validation", "test")}

  def _generate_examples(self, path):
    for i, line in enumerate(_xz_text(path, "ascii").split("\n")[:-1]):
      yield i, {"text": line}


# ----- CoNLL-2003 -----

# Tag ids in tfds's conll2003 order (tfds.dataset_builders.conll NER_TAGS).
CONLL_NER_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def read_conll(text: str) -> Iterator[tuple[int, list[list[str]]]]:
  """(article index, [[word, pos, chunk, ner], ...]) per sentence.

  A -DOCSTART- line starts a new article.
  """
  article, sentence = -1, []
  for line in text.split("\n"):
    if line.startswith("-DOCSTART-"):
      article += 1
      continue
    if not line.strip():
      if sentence:
        yield article, sentence
        sentence = []
      continue
    fields = line.split(" ")
    if len(fields) != 4:
      raise ValueError(f"CoNLL line with {len(fields)} fields, expected 4: {line!r}")
    sentence.append(fields)
  if sentence:
    yield article, sentence


class SkipjaxConll2003(tfds.core.GeneratorBasedBuilder):
  """CoNLL-2003 English NER (Tjong Kim Sang & De Meulder 2003), original IOB1 tags.

  Each example is a sentence; the space-joined fields keep it a scalar feature (tokens never
  contain a space): 'tokens', 'pos', 'chunks', 'ner' (raw tags, for conlleval), 'article'.
  """

  VERSION = tfds.core.Version("1.0.0")
  MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL.format("conll2003/eng.{train,testa,testb}.xz")

  def _info(self) -> tfds.core.DatasetInfo:
    text = tfds.features.Text
    return _dataset_info(self, "https://www.clips.uantwerpen.be/conll2003/ner/", tokens=text(),
                         pos=text(), chunks=text(), ner=text(), article=np.int32)

  def _split_generators(self, dl_manager):
    return {split: self._generate_examples(_manual_file(dl_manager, "conll2003", split))
            for split in ("train", "validation", "test")}

  def _generate_examples(self, path):
    for i, (article, sentence) in enumerate(read_conll(_xz_text(path))):
      columns = list(zip(*sentence))
      yield i, {"tokens": " ".join(columns[0]), "pos": " ".join(columns[1]),
                "chunks": " ".join(columns[2]), "ner": " ".join(columns[3]),
                "article": article}


BUILDERS = {
    "imdb": SkipjaxImdb,
    "rotten_tomatoes": SkipjaxRottenTomatoes,
    "sst_glue": SkipjaxSstGlue,
    "sst_trees": SkipjaxSstTrees,
    "ag_news": SkipjaxAgNews,
    "ptb": SkipjaxPtb,
    "conll2003": SkipjaxConll2003,
}
