# Variants of the exercises of lessons/21_many_to_many.py (docs/exercises.md, "Exercise files").
# Each cell replaces the exercise cell's code in the lesson; the tests grade every one.

# %% Extend the loan role="starter"
mina.loans[0].weeks = 4
session.close()

# %% Extend the loan role="wrong"
mina.loans[0].weeks = 4
session.flush()
session.close()

# %% Extend the loan role="wrong"
mina.loans[0].weeks += 4
session.commit()
session.close()

# %% Extend the loan role="alternative"
first_loan = mina.loans[0]
first_loan.weeks = 4
session.commit()
session.close()
