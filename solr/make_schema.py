#!/usr/bin/env python3
"""Write the conf/ files of a CKAN Solr core with German text analysis.

Input is CKAN's own schema.xml, taken from the installed ckan package
(<venv>/lib/python3.*/site-packages/ckan/config/solr/schema.xml). Only the
`text` field type is replaced; everything else (fields, copyFields, uniqueKey,
the `<schema name="ckan-X.Y">` that CKAN checks) is kept byte for byte.

`text` is the type of CKAN's title, notes, the catch-all `text` field (which
receives name, tags, groups, resources, extras, ... via copyField), urls,
extras_* and res_extras_*. The new analysis keeps CKAN's tokenisation
(whitespace + WordDelimiterGraph, so names like `baumkataster-karlsruhe` and
URLs split as before) and replaces the English Snowball stemmer with:

  LowerCase -> GermanNormalization (ä->a, ö->o, ü->u, ß->ss, ae/oe/ue->a/o/u)
  -> [index only] DictionaryCompoundWord (compounds_de.txt: Baumkataster ->
     + baum, kataster) -> GermanLightStem (Bäume/Baum -> baum)
  -> ASCIIFolding (é, ñ, ...)

so `Bäume`, `Baeume` and `Baum` match each other and `Baumkataster`, and
`Strasse` matches `Straße`.

Stop words are written to conf/stopwords_de.txt (Lucene's German Snowball list,
read from lucene-analysis-common on the Solr classpath) but not used by
default: CKAN searches with dismax over `name^4 title^4 tags^2 groups^2 text`
and mm=`2<-1 5<80%`; name/tags/groups are string fields that keep a stop word,
so a removed stop word still counts as a clause that must match and queries
like "die Bäume" would find nothing. --stopwords turns the filter on anyway.

Usage:
  make_schema.py --ckan-schema PATH --out CONF_DIR [--classpath-file CP]
                 [--compounds FILE] [--stopwords]
Writes CONF_DIR/schema.xml, compounds_de.txt, stopwords_de.txt, protwords.txt,
synonyms.txt. Standard library only.
"""

import argparse
import io
import os
import re
import sys
import xml.etree.ElementTree as ET
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
STOP_RESOURCE = "org/apache/lucene/analysis/snowball/german_stop.txt"

TEXT_TYPE = """<fieldType name="text" class="solr.TextField" positionIncrementGap="100">
        <!-- German analysis for ckanext-udp (solr/make_schema.py); replaces
             CKAN's English Snowball chain. -->
        <analyzer type="index">
            <tokenizer class="solr.WhitespaceTokenizerFactory"/>
            <filter class="solr.WordDelimiterGraphFilterFactory" generateWordParts="1" generateNumberParts="1" catenateWords="1" catenateNumbers="1" catenateAll="0" splitOnCaseChange="1"/>
            <filter class="solr.FlattenGraphFilterFactory"/> <!-- required on index analyzers after graph filters -->
            <filter class="solr.LowerCaseFilterFactory"/>
            {stop}<filter class="solr.GermanNormalizationFilterFactory"/>
            <filter class="solr.DictionaryCompoundWordTokenFilterFactory" dictionary="compounds_de.txt" minWordSize="5" minSubwordSize="3" maxSubwordSize="20" onlyLongestMatch="true"/>
            <filter class="solr.GermanLightStemFilterFactory"/>
            <filter class="solr.ASCIIFoldingFilterFactory"/>
            <filter class="solr.RemoveDuplicatesTokenFilterFactory"/>
        </analyzer>
        <analyzer type="query">
            <tokenizer class="solr.WhitespaceTokenizerFactory"/>
            <filter class="solr.SynonymGraphFilterFactory" synonyms="synonyms.txt" ignoreCase="true" expand="true"/>
            <filter class="solr.WordDelimiterGraphFilterFactory" generateWordParts="1" generateNumberParts="1" catenateWords="0" catenateNumbers="0" catenateAll="0" splitOnCaseChange="1"/>
            <filter class="solr.LowerCaseFilterFactory"/>
            {stop}<filter class="solr.GermanNormalizationFilterFactory"/>
            <filter class="solr.GermanLightStemFilterFactory"/>
            <filter class="solr.ASCIIFoldingFilterFactory"/>
        </analyzer>
    </fieldType>"""

STOP_FILTER = ('<filter class="solr.StopFilterFactory" ignoreCase="true" '
               'words="stopwords_de.txt" format="snowball"/>\n            ')

# A small list used when no lucene-analysis-common jar is at hand.
FALLBACK_STOPWORDS = """\
aber alle allem allen aller alles als also am an ander andere anderem anderen
anderer anderes anderm andern anderr anders auch auf aus bei bin bis bist da
damit dann der den des dem die das dass daß du er es ein eine einem einen einer
eines für hat hatte ich ihr im in ist ja kein mit nach nicht noch nur oder sich
sie sind so um und uns von vor war wie wir zu zum zur über
"""


# ckanext-spatial's `solr-bbox` search backend filters and boosts with function
# queries over these fields; CKAN's schema lacks them, and the catch-all
# dynamic field would index them as strings (function queries then fail).
SPATIAL_FIELDS = """    <!-- ckanext-spatial solr-bbox backend (added by solr/make_schema.py) -->
    <field name="bbox_area" type="float" indexed="true" stored="true" docValues="true"/>
    <field name="maxx" type="float" indexed="true" stored="true" docValues="true"/>
    <field name="maxy" type="float" indexed="true" stored="true" docValues="true"/>
    <field name="minx" type="float" indexed="true" stored="true" docValues="true"/>
    <field name="miny" type="float" indexed="true" stored="true" docValues="true"/>
"""


# udp_semantic (ckanext/udp/semantic/): one passage embedding per dataset
# (multilingual-e5-small, 384 dimensions, unit length), searched with Solr's
# `{!knn f=udp_vector topK=...}` parser. Unused fields cost nothing. Stored, so that
# "Ähnliche Datensätze" reads a dataset's vector instead of embedding it per page view.
VECTOR_FIELDS = """    <!-- udp_semantic dataset embedding (added by solr/make_schema.py) -->
    <field name="udp_vector" type="udp_knn_vector" indexed="true" stored="true"/>
"""
VECTOR_TYPE = """<fieldType name="udp_knn_vector" class="solr.DenseVectorField" vectorDimension="384" similarityFunction="cosine"/>
    """


class SchemaError(Exception):
    pass


def german_normalize(word):
    """Python twin of Lucene's GermanNormalizationFilter (after lower-casing).

    ä/ö/ü -> a/o/u, ß -> ss, and the 'e' of ae/oe is dropped, as is the 'e' of
    ue unless that 'u' follows a vowel (so "Bauer" keeps its "ue").
    """
    N, V, E = 0, 1, 2  # after consonant/start, after vowel, 'e' would be dropped
    out = []
    state = N
    for c in word.lower():
        if c in "ao":
            out.append(c)
            state = E
        elif c == "u":
            out.append(c)
            state = E if state == N else V
        elif c == "e":
            if state != E:
                out.append(c)
            state = V
        elif c in "iqy":
            out.append(c)
            state = V
        elif c in "äöü":
            out.append({"ä": "a", "ö": "o", "ü": "u"}[c])
            state = V
        elif c == "ß":
            out.append("ss")
            state = N
        else:
            out.append(c)
            state = N
    return "".join(out)


def transform(schema_text, use_stopwords=False):
    """Return CKAN's schema text with the `text` field type made German."""
    pattern = re.compile(
        r'<fieldType\s+name="text"\s[^>]*>.*?</fieldType>', re.DOTALL)
    matches = pattern.findall(schema_text)
    if len(matches) != 1:
        raise SchemaError(
            'expected exactly one <fieldType name="text"> in the CKAN schema, '
            "found %d" % len(matches))
    new_type = TEXT_TYPE.replace("{stop}", STOP_FILTER if use_stopwords else "")
    result = pattern.sub(lambda m: new_type, schema_text, count=1)
    if '<field name="maxx"' not in result:
        if result.count("</fields>") != 1:
            raise SchemaError("expected exactly one </fields> in the CKAN schema")
        result = result.replace("</fields>", SPATIAL_FIELDS + "</fields>")
    if '<field name="udp_vector"' not in result:
        if result.count("</fields>") != 1 or result.count("</types>") != 1:
            raise SchemaError("expected exactly one </fields> and </types> in the CKAN schema")
        result = result.replace("</fields>", VECTOR_FIELDS + "</fields>")
        result = result.replace("</types>", VECTOR_TYPE + "</types>")
    check(result)
    return result


def check(schema_text):
    """Sanity checks on the generated schema (parses, CKAN version kept)."""
    try:
        root = ET.fromstring(schema_text.encode("utf-8"))
    except ET.ParseError as e:
        raise SchemaError("generated schema is not well-formed XML: %s" % e)
    name = root.get("name", "")
    if root.tag != "schema" or not name.startswith("ckan-"):
        raise SchemaError('root must be <schema name="ckan-X.Y">, got <%s name="%s">'
                          % (root.tag, name))
    types = {t.get("name") for t in root.iter() if t.tag in ("fieldType", "fieldtype")}
    for f in root.iter():
        if f.tag in ("field", "dynamicField") and f.get("type") not in types:
            raise SchemaError("field %s uses unknown type %s" % (f.get("name"), f.get("type")))
    text = [t for t in root.iter() if t.tag == "fieldType" and t.get("name") == "text"]
    classes = [e.get("class") for e in text[0].iter() if e.get("class")]
    for needed in ("solr.GermanNormalizationFilterFactory", "solr.GermanLightStemFilterFactory"):
        if needed not in classes:
            raise SchemaError("text type lacks %s" % needed)


def stopwords_from_classpath(classpath_file):
    """German stop word list from lucene-analysis-common, or None."""
    if not classpath_file or not os.path.isfile(classpath_file):
        return None
    with open(classpath_file, encoding="utf-8") as f:
        jars = f.read().strip().split(os.pathsep)
    for jar in jars:
        if "lucene-analysis-common" in os.path.basename(jar) and os.path.isfile(jar):
            with zipfile.ZipFile(jar) as z:
                try:
                    return z.read(STOP_RESOURCE).decode("utf-8")
                except KeyError:
                    return None
    return None


def compounds(path):
    words = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            w = line.split("#", 1)[0].strip()
            if w:
                words.append(german_normalize(w))
    return sorted(set(words))


def write(path, text):
    tmp = path + ".tmp"
    with io.open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ckan-schema", required=True, help="CKAN's schema.xml")
    ap.add_argument("--out", required=True, help="core conf/ directory to write")
    ap.add_argument("--classpath-file", help="Solr classpath.txt (for the stop word list)")
    ap.add_argument("--compounds", default=os.path.join(HERE, "compounds_de.txt"))
    ap.add_argument("--stopwords", action="store_true",
                    help="remove German stop words (breaks CKAN's dismax mm, see above)")
    args = ap.parse_args(argv)

    try:
        with open(args.ckan_schema, encoding="utf-8") as f:
            schema = transform(f.read(), use_stopwords=args.stopwords)
    except (OSError, SchemaError) as e:
        print("make_schema: %s" % e, file=sys.stderr)
        return 1

    os.makedirs(args.out, exist_ok=True)
    stop = stopwords_from_classpath(args.classpath_file)
    if stop is None:
        stop = ("# German stop words (short fallback list of ckanext-udp)\n"
                + "\n".join(FALLBACK_STOPWORDS.split()) + "\n")
    write(os.path.join(args.out, "schema.xml"), schema)
    write(os.path.join(args.out, "stopwords_de.txt"), stop)
    write(os.path.join(args.out, "compounds_de.txt"),
          "# generated by solr/make_schema.py from solr/compounds_de.txt\n"
          + "\n".join(compounds(args.compounds)) + "\n")
    write(os.path.join(args.out, "protwords.txt"),
          "# words protected from stemming (CKAN's schema names this file)\n")
    write(os.path.join(args.out, "synonyms.txt"),
          "# query-time synonyms of the text field types (empty)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
