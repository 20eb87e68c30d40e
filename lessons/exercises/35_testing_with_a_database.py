# Variants of the exercises of lessons/35_testing_with_a_database.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% A second test role="starter"
add_book("A Quiet Orbit")
print("books seen by the endpoint:", add_book("Paper Moons"))
with Session(engine) as session:
    print("books after the test:", session.exec(select(func.count()).select_from(Book)).one())

# %% A second test role="wrong"
test_session = Session(engine)
overrides[get_session] = override_get_session
add_book("A Quiet Orbit")
print("books seen by the endpoint:", add_book("Paper Moons"))
test_session.rollback()
test_session.close()
overrides.clear()
with Session(engine) as session:
    print("books after the test:", session.exec(select(func.count()).select_from(Book)).one())

# %% A second test role="wrong"
connection = engine.connect()
outer = connection.begin()
test_session = Session(bind=connection, join_transaction_mode="create_savepoint")
overrides[get_session] = override_get_session
add_book("A Quiet Orbit")
print("books seen by the endpoint:", add_book("Paper Moons"))
test_session.rollback()
test_session.close()
outer.commit()
connection.close()
overrides.clear()
with Session(engine) as session:
    print("books after the test:", session.exec(select(func.count()).select_from(Book)).one())

# %% A second test role="alternative"
with engine.connect() as connection:
    outer = connection.begin()
    with Session(bind=connection, join_transaction_mode="create_savepoint") as test_session:
        overrides[get_session] = lambda: iter([test_session])
        add_book("A Quiet Orbit")
        print("books seen by the endpoint:", add_book("Paper Moons"))
    outer.rollback()
overrides.clear()
with Session(engine) as session:
    print("books after the test:", session.exec(select(func.count()).select_from(Book)).one())
