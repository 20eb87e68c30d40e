# Variants of the exercises of lessons/33_connection_pool.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Three requests that close role="starter"
for _request in range(3):
    session = Session(engine)
    print("title:", session.get(Book, 1).title)
engine.dispose()
pinging.dispose()
shutil.rmtree(folder)

# %% Three requests that close role="wrong"
for _request in range(3):
    session = Session(engine)
    print("title:", session.get(Book, 1).title)
    forgotten.append(session)
engine.dispose()
pinging.dispose()
shutil.rmtree(folder)

# %% Three requests that close role="wrong"
with Session(engine) as session:
    for _request in range(3):
        print("title:", session.get(Book, 1).title)
engine.dispose()
pinging.dispose()
shutil.rmtree(folder)

# %% Three requests that close role="alternative"
for _request in range(3):
    session = Session(engine)
    try:
        print("title:", session.get(Book, 1).title)
    finally:
        session.close()
engine.dispose()
pinging.dispose()
shutil.rmtree(folder)
