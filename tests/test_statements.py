"""The statement splitter the migrator uses to pin errors to a file and line."""

from functions_py.migrations.statements import split


def test_semicolons_inside_strings_comments_and_dollar_quotes_do_not_split():
    sql = (
        "-- a comment; with a semicolon\n"
        "create table a (x text default 'a;b''c');\n"
        "create function f() returns text language plpgsql as $fn$\n"
        "begin\n  return 'x;y'; -- ;\nend $fn$;\n"
        "/* block ; /* nested ; */ */\n"
        "select E'it\\'s;'; select \"we;ird\" from t;\n"
        "select $$;$$;\n"
    )
    statements = split(sql)
    assert [s.line for s in statements] == [2, 3, 8, 8, 9], "each statement starts on the line it is written"
    assert statements[1].text.endswith("end $fn$;"), "a dollar-quoted body stays in one statement"
    assert statements[2].text == "select E'it\\'s;';", "E'' strings honour backslash escapes"
    assert statements[3].text == 'select "we;ird" from t;'


def test_a_file_with_only_comments_has_no_statements():
    assert split("-- nothing here\n/* nor here */\n\n") == []


def test_a_final_statement_without_semicolon_is_kept():
    assert [s.text for s in split("select 1;\nselect 2")] == ["select 1;", "select 2"]


def test_sql_standard_function_bodies_are_not_split():
    sql = "create function g() returns int language sql\nbegin atomic\n  select 1;\nend;\nselect g();\n"
    assert len(split(sql)) == 1, "begin atomic bodies hold semicolons: the file runs as one statement"


def test_dollar_signs_in_identifiers_are_not_quotes():
    assert [s.text for s in split("select a$b from t; select 2;")] == ["select a$b from t;", "select 2;"]
