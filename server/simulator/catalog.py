"""The shop's catalogue: eight Mercado Livre categories, brand/model/attribute titles, prices.

Everything is drawn from one seeded generator, so the same seed gives the same catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Category:
    """A category and the demand parameters its listings scatter around (docs/simulator.md)."""

    id: str
    name: str
    prefix: str
    products: tuple[tuple[str, str, float], ...]  # brand, model, typical price (BRL)
    attributes: tuple[tuple[str, ...], ...]  # each title takes one value of each
    elasticity: float  # mean own-price elasticity (log-log), negative
    demand: float  # relative base demand (units/day scale)
    share: float  # share of the shop's listings


CATEGORIES: tuple[Category, ...] = (
    Category(
        "MLB1055",
        "Celulares e Smartphones",
        "Smartphone",
        (
            ("Samsung", "Galaxy A15", 999.0),
            ("Samsung", "Galaxy A25 5G", 1399.0),
            ("Samsung", "Galaxy A35 5G", 1899.0),
            ("Samsung", "Galaxy S23 FE", 2999.0),
            ("Motorola", "Moto G24", 899.0),
            ("Motorola", "Moto G34 5G", 1099.0),
            ("Motorola", "Moto G54 5G", 1299.0),
            ("Motorola", "Edge 40 Neo", 2199.0),
            ("Xiaomi", "Redmi 13C", 849.0),
            ("Xiaomi", "Redmi Note 13", 1299.0),
            ("Xiaomi", "Poco X6 5G", 1899.0),
            ("Apple", "iPhone 13", 3799.0),
            ("Apple", "iPhone 15", 5499.0),
        ),
        (("128GB", "256GB"), ("Preto", "Azul", "Verde", "Branco", "Grafite")),
        -1.8,
        0.7,
        0.13,
    ),
    Category(
        "MLB196208",
        "Fones de Ouvido",
        "Fone de Ouvido Bluetooth",
        (
            ("JBL", "Tune 510BT", 249.0),
            ("JBL", "Tune 520BT", 299.0),
            ("JBL", "Wave Buds", 279.0),
            ("JBL", "Tune 720BT", 449.0),
            ("Sony", "WH-CH520", 329.0),
            ("Sony", "WH-1000XM4", 1699.0),
            ("Edifier", "W820NB Plus", 449.0),
            ("QCY", "T13 ANC", 129.0),
            ("QCY", "MeloBuds Pro", 199.0),
            ("Xiaomi", "Redmi Buds 4 Active", 139.0),
            ("Philips", "TAT1209", 119.0),
        ),
        (("Preto", "Branco", "Azul", "Rosa"),),
        -2.2,
        1.3,
        0.14,
    ),
    Category(
        "MLB23332",
        "Tênis",
        "Tênis",
        (
            ("Nike", "Revolution 6", 349.0),
            ("Nike", "Downshifter 12", 399.0),
            ("Nike", "Air Max SC", 599.0),
            ("Adidas", "Runfalcon 3.0", 299.0),
            ("Adidas", "Duramo SL", 379.0),
            ("Adidas", "Grand Court 2.0", 399.0),
            ("Olympikus", "Corre 3", 399.0),
            ("Olympikus", "Index 2", 229.0),
            ("Mizuno", "Wave Prophecy LS", 899.0),
            ("Asics", "Gel-Nagoya 5", 449.0),
            ("Fila", "Racer Carbon", 499.0),
        ),
        (("Masculino", "Feminino"), ("Preto", "Branco", "Cinza", "Azul Marinho")),
        -2.0,
        0.9,
        0.14,
    ),
    Category(
        "MLB1648",
        "Informática",
        "",
        (
            ("Mouse Sem Fio Logitech", "M170", 69.0),
            ("Mouse Gamer Redragon", "Cobra M711", 119.0),
            ("Teclado Mecânico Redragon", "Kumara K552", 229.0),
            ("Teclado Sem Fio Logitech", "K270", 149.0),
            ("SSD Kingston", "A400 480GB", 239.0),
            ("SSD WD Green", "SN350 1TB NVMe", 449.0),
            ("Monitor LG", "24MP400 24 Polegadas", 749.0),
            ("Monitor Samsung", "Odyssey G3 24 Polegadas", 999.0),
            ("Webcam Logitech", "C920s Full HD", 399.0),
            ("Roteador TP-Link", "Archer C6", 229.0),
            ("Pendrive SanDisk", "Ultra Flair 64GB", 49.0),
        ),
        (("Preto", "Branco", "Cinza"),),
        -1.9,
        1.0,
        0.13,
    ),
    Category(
        "MLB5726",
        "Eletrodomésticos",
        "",
        (
            ("Air Fryer Mondial", "AF-30 4L", 349.0),
            ("Air Fryer Philco", "Gourmet Black 4,2L", 399.0),
            ("Fritadeira Elétrica Britânia", "BFR38 5L", 329.0),
            ("Liquidificador Oster", "Osterizer 1400W", 299.0),
            ("Cafeteira Nespresso", "Essenza Mini", 499.0),
            ("Cafeteira Elétrica Arno", "Gran Perfectta 30 Xícaras", 169.0),
            ("Micro-ondas Electrolux", "ME21P 20L", 649.0),
            ("Aspirador Vertical WAP", "Power Speed 2000W", 199.0),
            ("Ventilador Arno", "Turbo Silence 40cm", 259.0),
            ("Batedeira Planetária Mondial", "Premium B-29", 399.0),
        ),
        (("Preto", "Branco", "Inox"), ("127V", "220V")),
        -1.6,
        0.8,
        0.12,
    ),
    Category(
        "MLB1574",
        "Casa, Móveis e Decoração",
        "",
        (
            ("Jogo de Panelas Tramontina", "Turim 5 Peças Antiaderente", 349.0),
            ("Jogo de Panelas Brinox", "Ceramic Life 5 Peças", 399.0),
            ("Jogo de Cama Queen", "4 Peças Algodão 200 Fios", 159.0),
            ("Garrafa Térmica Stanley", "Classic 1L", 299.0),
            ("Copo Térmico Stanley", "Quencher 887ml", 249.0),
            ("Conjunto de Potes Electrolux", "10 Peças Vidro", 129.0),
            ("Travesseiro Nasa", "Viscoelástico 50x70", 89.0),
            ("Toalha de Banho Buddemeyer", "Kit 4 Peças Fio Penteado", 179.0),
            ("Luminária de Mesa", "LED Articulada Touch", 79.0),
        ),
        (("Cinza", "Vermelho", "Verde", "Azul", "Bege"),),
        -1.4,
        1.0,
        0.12,
    ),
    Category(
        "MLB1246",
        "Beleza e Cuidado Pessoal",
        "",
        (
            ("Secador de Cabelo Taiff", "Black 2000W", 259.0),
            ("Secador de Cabelo Philco", "PH3700 Pink", 159.0),
            ("Prancha Alisadora Taiff", "Titanium 450", 349.0),
            ("Chapinha Mondial", "Infinity Ceramic", 99.0),
            ("Escova Secadora Britânia", "Soft BEC02", 129.0),
            ("Barbeador Elétrico Philips", "OneBlade QP2521", 199.0),
            ("Perfume Natura", "Essencial Tradicional 100ml", 209.0),
            ("Kit Skincare Principia", "Sérum + Hidratante", 119.0),
            ("Aparador de Pelos Mondial", "Bodygroom BG-02", 119.0),
        ),
        (("Preto", "Rosa", "Lilás"),),
        -1.5,
        1.1,
        0.11,
    ),
    Category(
        "MLB263532",
        "Ferramentas",
        "",
        (
            ("Furadeira de Impacto Bosch", "GSB 550 RE", 349.0),
            ("Parafusadeira Makita", "DF333DWYE 12V", 699.0),
            ("Parafusadeira Black+Decker", "LD12SP 12V", 279.0),
            ("Jogo de Chaves Tramontina", "Combinadas 12 Peças", 199.0),
            ("Esmerilhadeira Angular Dewalt", "DWE4010 4 1/2", 349.0),
            ("Serra Tico-Tico Bosch", "GST 650", 399.0),
            ("Kit de Ferramentas Vonder", "110 Peças com Maleta", 249.0),
            ("Trena a Laser Bosch", "GLM 20", 329.0),
        ),
        (("Amarelo", "Azul", "Verde"), ("127V", "220V", "Bivolt")),
        -1.3,
        0.7,
        0.11,
    ),
)


@dataclass(slots=True)
class Catalog:
    """Column arrays, one row per listing (index = position in the shop)."""

    titles: list[str]
    category: npt.NDArray[np.int64]  # index into CATEGORIES
    price: npt.NDArray[np.float64]  # list price at the start of the history
    cost: npt.NDArray[np.float64]
    used: npt.NDArray[np.bool_]
    listing_type: list[str]
    status: list[str]
    automated: npt.NDArray[np.bool_]
    created_days_ago: npt.NDArray[np.int64]


def charm(price: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Round to a shop price ending in ,90 (129,90)."""
    return np.maximum(np.floor(price) + 0.9, 9.9).round(2)


def _title(category: Category, rng: np.random.Generator) -> tuple[str, float]:
    brand, model, price = category.products[int(rng.integers(len(category.products)))]
    words = [category.prefix, brand, model]
    words += [values[int(rng.integers(len(values)))] for values in category.attributes]
    return " ".join(word for word in words if word), price


def generate_catalog(count: int, rng: np.random.Generator) -> Catalog:
    """`count` listings spread over the categories by their share."""
    shares = np.array([category.share for category in CATEGORIES])
    category = rng.choice(len(CATEGORIES), size=count, p=shares / shares.sum())
    titles: list[str] = []
    typical = np.empty(count)
    for index, which in enumerate(category):
        title, usual = _title(CATEGORIES[int(which)], rng)
        titles.append(title)
        typical[index] = usual
    used = rng.random(count) < 0.07
    # a used item sells for less than a new one
    price = charm(typical * rng.lognormal(0.0, 0.08, count) * np.where(used, 0.7, 1.0))
    cost = (price * rng.uniform(0.45, 0.75, count)).round(2)
    listing_type = rng.choice(["gold_special", "gold_pro", "free"], size=count, p=[0.6, 0.32, 0.08])
    status = rng.choice(["active", "paused", "closed"], size=count, p=[0.88, 0.08, 0.04])
    automated = rng.random(count) < 0.05
    created = rng.integers(370, 1500, size=count)
    return Catalog(
        titles=titles,
        category=category.astype(np.int64),
        price=price,
        cost=cost,
        used=used,
        listing_type=[str(value) for value in listing_type],
        status=[str(value) for value in status],
        automated=automated,
        created_days_ago=created.astype(np.int64),
    )
