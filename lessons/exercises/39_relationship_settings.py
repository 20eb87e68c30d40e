# Variants of the exercises of lessons/39_relationship_settings.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% lazy selectin role="starter"
for member in session.exec(select(Member)).all():
    session.expire(member, ["loans"])
    print(member.name, "has", ", ".join(loan.title for loan in member.loans))

# %% lazy selectin role="wrong"
for member in session.exec(select(Member)).all():
    loans = session.exec(select(Loan).where(Loan.member_id == member.id).order_by(Loan.id)).all()
    print(member.name, "has", ", ".join(loan.title for loan in loans))

# %% lazy selectin role="wrong"
for member in session.exec(select(Member)).all():
    print(member.name, "has", ", ".join(loan.title for loan in member.loans))
    session.expire_all()
    print(len(member.loans))

# %% lazy selectin role="alternative"
members = session.exec(select(Member).order_by(Member.id)).all()
for member in members:
    print(member.name, "has", ", ".join(loan.title for loan in member.loans))
