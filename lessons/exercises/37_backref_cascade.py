# Variants of the exercises of lessons/37_backref_cascade.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Save Tides of Ink role="starter"
tides = Book(title="Tides of Ink")
tides.author = ada
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    session.commit()
print("titles:", session.exec(select(Book.title).order_by(Book.id)).all())
session.close()

# %% Save Tides of Ink role="wrong"
tides = Book(title="Tides of Ink", author_id=ada.id)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    session.commit()
print("titles:", session.exec(select(Book.title).order_by(Book.id)).all())
session.close()

# %% Save Tides of Ink role="wrong"
tides = Book(title="Tides of Ink")
tides.author = ada
session.add(tides)
session.flush()
print("titles:", session.exec(select(Book.title).order_by(Book.id)).all())
session.close()

# %% Save Tides of Ink role="alternative"
tides = Book(title="Tides of Ink")
ada.books.append(tides)  # appended to the collection of an author in the session: cascaded at the flush
session.commit()
print("titles:", session.exec(select(Book.title).order_by(Book.id)).all())
session.close()

# %% Save Tides of Ink role="alternative"
tides = Book(title="Tides of Ink", author=ada)
session.add_all([tides, cora])
session.commit()
print("titles:", session.exec(select(Book.title).order_by(Book.id)).all())
session.close()
