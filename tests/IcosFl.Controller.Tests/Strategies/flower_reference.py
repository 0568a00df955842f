"""Reference numbers for the stateful strategy tests, from Flower's own update rules on float32 numpy
arrays (framework/py/flwr/serverapp/strategy/fedavgm.py, fedopt.py, fedadam.py, fedyogi.py,
fedadagrad.py, restated here). Run with Debian's python3-numpy: /usr/bin/python3 flower_reference.py
Each round has one update, global + delta, so FedAvg's average is that update."""
import numpy as np

np.set_printoptions(precision=9, floatmode="unique")
DELTAS = [[0.5, -1.0], [0.25, 0.5], [-0.5, 0.125]]
START = [1.0, 0.0]


def fedopt(name, eta, beta_1, beta_2, tau):
    current = np.array(START, dtype=np.float32)
    m_t = v_t = None
    for server_round, d in enumerate(DELTAS, start=1):
        aggregated = current + np.array(d, dtype=np.float32)
        delta_t = aggregated - current
        if m_t is None:
            m_t = np.zeros_like(delta_t)
        m_t = beta_1 * m_t + (1 - beta_1) * delta_t
        if v_t is None:
            v_t = np.zeros_like(delta_t)
        if name == "fedadam":
            v_t = beta_2 * v_t + (1 - beta_2) * (delta_t**2)
            step = eta * np.sqrt(1 - np.power(beta_2, server_round + 1.0)) / (1 - np.power(beta_1, server_round + 1.0))
        elif name == "fedyogi":
            v_t = v_t - (1.0 - beta_2) * (delta_t**2) * np.sign(v_t - delta_t**2)
            step = eta
        else:
            v_t = v_t + delta_t**2
            step = eta
        current = (current + step * m_t / (np.sqrt(v_t) + tau)).astype(np.float32)
        print(name, server_round, "global", repr(current.tolist()), "m", repr(m_t.tolist()), "v", repr(v_t.tolist()))


def fedavgm(lr, momentum):
    current = np.array(START, dtype=np.float32)
    momentum_vector = None
    for server_round, d in enumerate(DELTAS, start=1):
        aggregated = current + np.array(d, dtype=np.float32)
        pseudo_gradient = current - aggregated
        if momentum_vector is None:
            momentum_vector = pseudo_gradient
        else:
            momentum_vector = momentum * momentum_vector + pseudo_gradient
        current = current - lr * momentum_vector
        print("fedavgm", server_round, "global", repr(current.tolist()), "momentum", repr(momentum_vector.tolist()))


fedopt("fedadam", eta=0.1, beta_1=0.9, beta_2=0.99, tau=0.001)
fedopt("fedyogi", eta=0.1, beta_1=0.9, beta_2=0.99, tau=0.001)
fedopt("fedadagrad", eta=0.1, beta_1=0.0, beta_2=0.0, tau=0.001)
fedavgm(lr=0.5, momentum=0.5)
